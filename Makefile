# The test command of the README. Gated suites (Chromium, PostgreSQL, ClickHouse) skip with a message
# unless TRIBUTARY_TEST_REQUIRE names them ("all" in CI). The fixtures the tests read are in testdata/.
GO ?= go

.PHONY: test build vet fmt bench
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

build:
	$(GO) build -o bin/tributary ./cmd/tributary

fmt:
	gofmt -l -w .

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
