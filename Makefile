# Front Desk. The README's two commands: `make run` and `make test`.
BINARY   := frontdesk
GO       ?= go
# migrated_fynedo: Fyne's threading model of 2.6+, so wrong-thread calls are caught.
TAGS     := migrated_fynedo
LOGIC    := ./storage/... ./forms/... ./mailbox/...
export GOFLAGS := -buildvcs=false

.PHONY: all deps deps-test build run test test-logic test-ui smoke bench clean

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

# The real cgo binary, as it runs on a desk.
build: deps
	$(GO) build -tags $(TAGS) -o $(BINARY) .

# Starts the window on the default store ($$FRONTDESK_DATA or the user's config folder).
run: build
	./$(BINARY) $(ARGS)

# Every test, then the real binary is built and started once under Xvfb.
test: deps deps-test test-logic test-ui build smoke

# Store, forms and mailbox: plain Go, with the race detector.
test-logic:
	$(GO) test -race -count=1 $(LOGIC)

# The window and the commands, headless: Fyne's software driver (-tags ci) needs no cgo.
test-ui:
	CGO_ENABLED=0 $(GO) test -count=1 -tags ci,$(TAGS) . ./ui/...

# The built binary must start and draw its window.
smoke:
	scripts/smoke.sh ./$(BINARY)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x $(LOGIC)

clean:
	rm -f $(BINARY)
