# The help-desk IVR. `make help` lists the targets.
GO      ?= go
BIN     ?= bin
CONFIG  ?= configs/helpdesk.yaml
# The Go release this module needs (go.mod's toolchain line): a machine
# starts on its own Go, so say it; the go command fetches it once.
export GOTOOLCHAIN := go1.27.3

.PHONY: help build test lint run demo bench fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build ivrd and ivrctl into bin/
	$(GO) build -o $(BIN)/ ./cmd/...

test: ## run every test against a throwaway PostgreSQL (installs what is missing)
	scripts/test.sh

lint: ## gofmt, go vet, staticcheck, ivrctl validate on every config, govulncheck
	scripts/lint.sh

run: build ## run the service with the example help desk (demo mode: local PostgreSQL, simulated Asterisk)
	scripts/install-deps.sh
	$(BIN)/ivrctl prompts -config $(CONFIG) -out data/prompts
	$(BIN)/ivrd -demo -config $(CONFIG) -data data

demo: run ## same as run

bench: ## the benchmarks whose figures are in the README
	scripts/bench.sh

clean: ## remove build output
	rm -rf $(BIN)
