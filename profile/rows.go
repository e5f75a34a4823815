package profile

import "iter"

// rows is an append-only table of records kept in blocks that double in
// size, so that appending never moves a record. A slice grown by append
// moves every record at each growth (by a quarter at a time past 256), and
// until gotune's first collection each new array is on fresh pages that
// fault in as the records are copied: on a 10k-sample profile of 30,000
// locations (decoded while it inflates, so the table is not sized from a
// count) the location table's growth cost `gotune top` a sixth of its time.
type rows[T any] struct {
	blocks [][]T
	n      int
}

// minBlock is the first block's size when no count sized it.
const minBlock = 256

// reserve sizes the first block for n records (a count of them).
func (r *rows[T]) reserve(n int) {
	if r.n == 0 && n > 0 {
		r.blocks = append(r.blocks[:0], make([]T, 0, n))
	}
}

// add appends v.
func (r *rows[T]) add(v T) {
	r.tail(1)
	last := &r.blocks[len(r.blocks)-1]
	*last = append(*last, v)
	r.n++
}

// tail makes the last block hold k more records; a new block holds as
// many records as the table does (or k, or minBlock), doubling it.
func (r *rows[T]) tail(k int) {
	if len(r.blocks) > 0 {
		if last := r.blocks[len(r.blocks)-1]; cap(last)-len(last) >= k {
			return
		}
	}
	r.blocks = append(r.blocks, make([]T, 0, max(minBlock, r.n, k)))
}

// addRun appends v to the run of records that starts at index start of the
// last block, and returns the run's start: when the block is full, the run
// (a location's few lines) moves to a new block, so it stays contiguous.
func (r *rows[T]) addRun(start int, v T) int {
	if len(r.blocks) > 0 {
		if last := r.blocks[len(r.blocks)-1]; len(last) == cap(last) {
			run := last[start:]
			r.blocks[len(r.blocks)-1] = last[:start]
			r.tail(2*len(run) + 1)
			nb := &r.blocks[len(r.blocks)-1]
			*nb = append(*nb, run...)
			start = 0
		}
	}
	r.add(v)
	return start
}

// run returns the records of the last block from start.
func (r *rows[T]) run(start int) []T {
	if len(r.blocks) == 0 {
		return nil
	}
	last := r.blocks[len(r.blocks)-1]
	return last[start:len(last):len(last)]
}

// last returns the length of the last block: where a run begins.
func (r *rows[T]) last() int {
	if len(r.blocks) == 0 {
		return 0
	}
	return len(r.blocks[len(r.blocks)-1])
}

// len returns the number of records.
func (r *rows[T]) len() int { return r.n }

// all yields every record, in order, with its index.
func (r *rows[T]) all() iter.Seq2[int, *T] {
	return func(yield func(int, *T) bool) {
		i := 0
		for _, b := range r.blocks {
			for j := range b {
				if !yield(i, &b[j]) {
					return
				}
				i++
			}
		}
	}
}

// indexed yields a slice's records with their indices, as rows.all does.
func indexed[T any](s []T) iter.Seq2[int, *T] {
	return func(yield func(int, *T) bool) {
		for i := range s {
			if !yield(i, &s[i]) {
				return
			}
		}
	}
}
