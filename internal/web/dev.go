package web

import "net/http"

// DevMessages lists what the capture adapter kept (dev only).
type DevMessages interface{}

func (s *Server) devMessages(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
func (s *Server) devAct(w http.ResponseWriter, r *http.Request)      { http.NotFound(w, r) }
