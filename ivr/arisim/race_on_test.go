//go:build race

package arisim

const raceEnabled = true
