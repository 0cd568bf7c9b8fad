package web

func (s *Web) surveyRoutes(handle func(string, pageHandler)) {}
