package ivr

import (
	"slices"
	"sync/atomic"
	"testing"
)

func TestRingAllBatch(t *testing.T) {
	var next atomic.Uint64
	few := []int{1, 2, 3}
	if got := ringAllBatch(few, 8, &next); !slices.Equal(got, few) {
		t.Errorf("a small group rings whole: %v", got)
	}
	ops := make([]int, 20)
	for i := range ops {
		ops[i] = i
	}
	// Successive calls take the group in turn, wrapping around.
	want := [][]int{{0, 1, 2, 3, 4, 5, 6, 7}, {8, 9, 10, 11, 12, 13, 14, 15}, {16, 17, 18, 19, 0, 1, 2, 3}}
	for i, w := range want {
		if got := ringAllBatch(ops, 8, &next); !slices.Equal(got, w) {
			t.Errorf("call %d rings %v, want %v", i, got, w)
		}
	}
}
