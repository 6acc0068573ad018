package tickets

// SetTextWindow shrinks the window of a text search's first query, so that
// tests reach both of its paths with a few tickets.
func SetTextWindow(s *Store, n int) { s.textWindow = n }
