// Package scripts holds no code: its tests check the shell scripts beside
// them, and the files that must agree with them (go.mod, the Makefile,
// .ci/run, the Dockerfile, the README), so that `make test` runs them.
package scripts
