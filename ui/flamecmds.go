package ui

import (
	"regexp"

	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/profile"
)

// The Flame screen's aggregations over every sample of a big profile run
// in these commands; each answer names the data (and tree) it was computed
// for, and the screen drops answers for data it no longer shows.

// expandedMsg is a tree with node's subtree built deeper.
type expandedMsg struct {
	data       *flameData
	base, tree *profile.Tree
	node       profile.NodeID
}

// expandTree builds the subtree under n to DefaultTreeFraction of n's
// value (a zoom).
func expandTree(d *flameData, t *profile.Tree, n profile.NodeID) tea.Cmd {
	return func() tea.Msg {
		return expandedMsg{data: d, base: t, tree: t.Expand(n, profile.DefaultTreeFraction), node: n}
	}
}

// peekMsg is one function's callers and callees.
type peekMsg struct {
	data *flameData
	name string
	peek profile.PeekNode
}

func peekFunction(d *flameData, t *profile.Tree, name string) tea.Cmd {
	return func() tea.Msg { return peekMsg{data: d, name: name, peek: peekName(d, t, name)} }
}

// searchMsg is the share of the samples with a frame matching query.
type searchMsg struct {
	data  *flameData
	query string
	value int64
}

func searchTree(d *flameData, t *profile.Tree, query string) tea.Cmd {
	re := searchRegexp(query)
	return func() tea.Msg {
		var v int64
		if re != nil {
			v, _ = t.Search(re)
		}
		return searchMsg{data: d, query: query, value: v}
	}
}

// listedMsg is the source listing of one function.
type listedMsg struct {
	data    *flameData
	name    string
	listing *profile.Listing
	err     error
}

// listFunction builds the listing (pprof -list) of the function named fn
// with d's refinements, reading sources through src.
func listFunction(d *flameData, fn string, src profile.Sources) tea.Cmd {
	o := profile.ListOptions{Options: d.opts.Options, Match: "^" + regexp.QuoteMeta(fn) + "$"}
	return func() tea.Msg {
		l, err := profile.NewListing(d.prof, o, src)
		return listedMsg{data: d, name: fn, listing: l, err: err}
	}
}

// refineMsg asks the Flame screen (which owns the profile the Flame and
// Top screens show) to aggregate it again with opts.
type refineMsg struct{ opts viewOptions }
