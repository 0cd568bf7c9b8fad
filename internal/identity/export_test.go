package identity

// SetMaxMerges lowers the merge cap so a test can reach it.
func (g *Graph) SetMaxMerges(n int) { g.maxMerges = n }
