package web

func (s *Web) badgeRoutes(handle func(string, pageHandler)) {}
