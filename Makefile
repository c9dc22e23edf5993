# `make test` is the README's test command and what CI runs.
SHELL := /bin/bash

.PHONY: test vet run

test:
	go test -count=1 -timeout 45m -v ./...

vet:
	go vet ./...

run:
	go run ./cmd/dsr dev
