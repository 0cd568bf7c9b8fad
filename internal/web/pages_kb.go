package web

func (s *Web) kbRoutes(handle func(string, pageHandler)) {}
