# etwhost — GNU Make build.
#
#   make            build build/etwhost, build/plugins/*.so, the SDK example
#   make run        install missing packages, build, run the default job
#   make test       install, build, run every test suite (plain + ASan/UBSan, ABI, ...)
#   make bench      benchmarks (never part of make test)
#   make fuzz       libFuzzer targets (FUZZ_SECONDS per target)
#   make deps       install missing Debian packages (apt-get as root)
#   make install    PREFIX=/usr/local

# Included fragments (plugins/*/plugin.mk, tests/plugins/*.mk) define rules of
# their own: the goal of a bare `make` is pinned here, not left to rule order.
.DEFAULT_GOAL := all

BUILD   ?= build
CC      ?= cc
PREFIX  ?= /usr/local
OPT     ?= -O2
SAN     ?=
VERSION := 0.1.0
V       ?= 0
ifeq ($(V),1)
Q :=
E := @true
else
Q := @
E := @echo
endif

WARN    := -Wall -Wextra -Wpedantic -Werror -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
CSTD    := -std=c11
DEFS    := -D_FILE_OFFSET_BITS=64 -DETWHOST_VERSION=\"$(VERSION)\"
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ifeq ($(SAN),thread)
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
endif
CFLAGS  ?=
CFLAGS  += $(CSTD) $(OPT) -g $(WARN) $(DEFS) $(SANFLAGS) -pthread
CPPFLAGS += -Isdk/include -Ihost
LDFLAGS += $(SANFLAGS) -pthread
HOST_LIBS := -ljansson -lzstd -lexpat -ldl -lm

.SECONDEXPANSION:
.DELETE_ON_ERROR:

# ---- sources (discovered, so adding a file needs no Makefile edit) ----
HOST_SRCS := $(sort $(shell find host -name '*.c' ! -path 'host/platform/win/*' ! -name main.c))
HOST_OBJS := $(HOST_SRCS:%.c=$(BUILD)/obj/%.o)
# plugins/support/ is no plugin: shared plugin-side code that a plugin lists in its plugin.mk.
PLUGIN_NAMES := $(filter-out support,$(sort $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c))))))
PLUGIN_SOS := $(PLUGIN_NAMES:%=$(BUILD)/plugins/%.so)
EXAMPLE_NAMES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard sdk/examples/*/*.c)))))
EXAMPLE_SOS := $(EXAMPLE_NAMES:%=$(BUILD)/sdk-examples/%.so)
TEST_SRCS := $(sort $(wildcard tests/unit/*.c))
# plugins/support/ sources the test runner links as objects of their own: test_kafka_spool.c
# compiles kafka_spool.c, which calls psup_crc32c, and test_plugin_support.c tests it; one object
# keeps two tests from defining it twice.  Tests include plugins/support/ headers by name
# (-Iplugins/support), as the plugins do.
TEST_PSUP_SRCS := plugins/support/psup_crc32c.c
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o) $(TEST_PSUP_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_PLUGIN_SRCS := $(sort $(wildcard tests/plugins/*.c))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOLS := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

# Per-plugin settings: plugins/<name>/plugin.mk may set LIBS_<name> (link flags) and SRCS_<name>
# (extra sources, e.g. plugins/support/psup_os_posix.c; see "Plugins" below).
-include $(wildcard plugins/*/plugin.mk)
-include $(wildcard tests/plugins/*.mk)

.PHONY: all deps run test test-unit test-asan bench fuzz install clean abi-check abi-baseline \
        lint format-check tools test-build
all: $(BUILD)/etwhost $(PLUGIN_SOS) $(EXAMPLE_SOS) tools

deps:
	@sh tests/scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(E) "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libetwhost.a: $(HOST_OBJS)
	@rm -f $@
	$(E) "  AR      $@"
	$(Q)ar rcs $@ $^

$(BUILD)/etwhost: $(BUILD)/obj/host/main.o $(BUILD)/libetwhost.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(HOST_LIBS)

# Plugins: only the SDK header, hidden visibility, one shared library each.  A plugin is
# plugins/<name>/*.c plus the sources its plugin.mk lists as SRCS_<name> (shared code from
# plugins/support/, whose headers it includes by name).  OS-specific files are named *_posix.c
# and *_win.c: this build leaves out *_win.c; the Windows build (below) leaves out *_posix.c and
# takes *_win.c for each *_posix.c in SRCS_<name>.
PLUGIN_CFLAGS = $(CSTD) $(OPT) -g $(WARN) $(SANFLAGS) -D_FILE_OFFSET_BITS=64 -fPIC -fvisibility=hidden -Isdk/include
plugin_srcs = $(filter-out %_win.c,$(wildcard plugins/$(1)/*.c) $(SRCS_$(1)))
plugin_hdrs = $(wildcard plugins/$(1)/*.h) $(if $(SRCS_$(1)),$(wildcard plugins/support/*.h))
$(BUILD)/plugins/%.so: $$(call plugin_srcs,$$*) $$(call plugin_hdrs,$$*) sdk/include/etwhost/plugin.h
	@mkdir -p $(dir $@)
	$(E) "  PLUGIN  $@"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -Iplugins/support -shared -o $@ $(filter %.c,$^) $(LDFLAGS) $(LIBS_$*)

$(BUILD)/sdk-examples/%.so: $$(wildcard sdk/examples/$$*/*.c) sdk/include/etwhost/plugin.h
	@mkdir -p $(dir $@)
	$(E) "  PLUGIN  $@"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $(filter %.c,$^) $(LDFLAGS)

tools: $(TOOLS)
$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libetwhost.a
	@mkdir -p $(dir $@)
	$(E) "  TOOL    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libetwhost.a $(LDFLAGS) $(HOST_LIBS)

# ---- tests ----
$(BUILD)/tests/test_list.h: $(TEST_SRCS)
	@mkdir -p $(dir $@)
	@cat /dev/null $(TEST_SRCS) | sed -n 's/^TEST(\([A-Za-z0-9_]*\)).*/X(\1)/p' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(BUILD)/obj/tests/runner.o: tests/runner.c $(BUILD)/tests/test_list.h
	@mkdir -p $(dir $@)
	$(E) "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) -I$(BUILD)/tests -Itests $(CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(E) "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) -Itests -Iplugins/support $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/etwhost-tests: $(BUILD)/obj/tests/runner.o $(TEST_OBJS) $(BUILD)/libetwhost.a
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(HOST_LIBS)

# Test plugins: tests/plugins/<name>.c built with the variants its .mk lists.
TEST_PLUGIN_SOS := $(TEST_PLUGIN_SRCS:tests/plugins/%.c=$(BUILD)/tests/plugins/%.so) $(TEST_PLUGIN_EXTRA)
$(BUILD)/tests/plugins/%.so: tests/plugins/%.c sdk/include/etwhost/plugin.h
	@mkdir -p $(dir $@)
	$(E) "  PLUGIN  $@"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -Itests/plugins -shared -o $@ $< $(LDFLAGS)

test-build: all $(BUILD)/tests/etwhost-tests $(TEST_PLUGIN_SOS)

# Run the plain suite only (quick loop while developing).
test-unit: test-build
	$(BUILD)/tests/etwhost-tests --root . --build $(BUILD) $(T)

test: deps
	@bash tests/scripts/run-all.sh

test-asan:
	$(MAKE) BUILD=build/asan SAN=1 OPT=-O1 test-build
	build/asan/tests/etwhost-tests --root . --build build/asan $(T)

run: deps all
	@bash tests/scripts/run-default.sh

# ---- ABI ----
abi-check: $(BUILD)/abi/probe.so
	@sh sdk/abi/abi-check.sh $(BUILD)/abi/probe.so
abi-baseline: $(BUILD)/abi/probe.so
	abidw --no-corpus-path --out-file sdk/abi/etwhost-abi-1.xml $<
$(BUILD)/abi/probe.so: sdk/abi/probe.c sdk/include/etwhost/plugin.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -g -O0 -fPIC -shared -fvisibility=hidden -Isdk/include -o $@ $<

bench: all
	@bash tests/scripts/bench.sh

fuzz:
	@bash tests/scripts/fuzz.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/etwhost/plugins \
	  $(DESTDIR)$(PREFIX)/include/etwhost $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/share/etwhost/conf/conf.d
	install -m 755 $(BUILD)/etwhost $(DESTDIR)$(PREFIX)/bin/etwhost
	install -m 755 $(PLUGIN_SOS) $(DESTDIR)$(PREFIX)/lib/etwhost/plugins/
	install -m 644 sdk/include/etwhost/*.h $(DESTDIR)$(PREFIX)/include/etwhost/
	install -m 644 conf/etwhost.json $(DESTDIR)$(PREFIX)/share/etwhost/conf/
	install -m 644 conf/conf.d/*.json $(DESTDIR)$(PREFIX)/share/etwhost/conf/conf.d/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' sdk/etwhost-sdk.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/etwhost-sdk.pc

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- Kafka: a real single-node Kafka 4.x broker on 127.0.0.1 (docs/kafka.md) ----
.PHONY: test-kafka bench-kafka
test-kafka: deps test-build
	@BUILD=$(BUILD) bash tests/scripts/test-kafka.sh
bench-kafka: deps all
	@BUILD=$(BUILD) bash tests/scripts/bench-kafka.sh

# ==== Windows cross build (docs/windows-build.md) =========================================
# `make windows` builds etwhost.exe, plugins/*.dll, the SDK example and the test runner with
# mingw-w64 into build-win/, against static jansson/zstd/expat/pcre2/librdkafka built from
# Debian sources by tests/scripts/win-deps.sh (cached in build-win/deps).  `make
# test-windows` runs the test suite under Wine.  Nothing here runs in a plain `make`.
# Sources are selected like the Linux build but with host/platform/win/ instead of
# host/platform/posix/, and plugin files named *_win.c instead of *_posix.c.
WIN_BUILD  := build-win
WIN_CC     := x86_64-w64-mingw32-gcc
WIN_AR     := x86_64-w64-mingw32-ar
WIN_DEPS   := $(WIN_BUILD)/deps/prefix
WIN_EXE    := .exe
WIN_SO     := .dll
WIN_DEFS   := -DETWHOST_VERSION=\"$(VERSION)\" -D__USE_MINGW_ANSI_STDIO=1 -D_WIN32_WINNT=0x0A00 \
              -DWINVER=0x0A00 -DPCRE2_STATIC -DLIBRDKAFKA_STATICLIB -DXML_STATIC
WIN_CFLAGS := $(CSTD) $(OPT) $(WARN) $(WIN_DEFS) -I$(WIN_DEPS)/include
WIN_CPPFLAGS := -Isdk/include -Ihost
# libgcc static everywhere: the binaries need only system DLLs and msvcrt.
WIN_LDFLAGS := -static-libgcc -L$(WIN_DEPS)/lib
WIN_SYSLIBS := -lws2_32 -lsecur32 -lcrypt32 -lshlwapi -lshell32 -ladvapi32 -ltdh -lole32
WIN_HOST_LIBS := -ljansson -lzstd -lexpat $(WIN_SYSLIBS)

WIN_HOST_SRCS := $(sort $(shell find host -name '*.c' ! -path 'host/platform/posix/*' \
                   ! -name '*_posix.c' ! -name main.c))
WIN_HOST_OBJS := $(WIN_HOST_SRCS:%.c=$(WIN_BUILD)/obj/%.o)
WIN_PLUGIN_DLLS := $(PLUGIN_NAMES:%=$(WIN_BUILD)/plugins/%$(WIN_SO))
WIN_EXAMPLE_DLLS := $(EXAMPLE_NAMES:%=$(WIN_BUILD)/sdk-examples/%$(WIN_SO))
WIN_TEST_OBJS := $(TEST_SRCS:%.c=$(WIN_BUILD)/obj/%.o) $(TEST_PSUP_SRCS:%.c=$(WIN_BUILD)/obj/%.o)
WIN_TEST_PLUGIN_DLLS := $(TEST_PLUGIN_SRCS:tests/plugins/%.c=$(WIN_BUILD)/tests/plugins/%$(WIN_SO)) \
                        $(COMPAT_VARIANTS:%=$(WIN_BUILD)/tests/plugins/%$(WIN_SO))
WIN_TOOLS := $(TOOL_SRCS:tests/tools/%.c=$(WIN_BUILD)/tools/%$(WIN_EXE))
# A plugin's OS files: *_posix.c belongs to the Linux build only; a *_posix.c listed in
# SRCS_<name> (plugin.mk) stands for its *_win.c here.
win_plugin_srcs = $(filter-out %_posix.c,$(wildcard plugins/$(1)/*.c)) \
                  $(patsubst %_posix.c,%_win.c,$(SRCS_$(1)))
# Plugin link flags: WINLIBS_<name> if the plugin's plugin.mk sets one, else the -l options
# of LIBS_<name> (Linux-only linker options such as -Wl,-z,nodelete are dropped).
win_plugin_libs = $(if $(WINLIBS_$(1)),$(WINLIBS_$(1)),$(filter -l%,$(LIBS_$(1))))
WIN_PLUGIN_CFLAGS = $(CSTD) $(OPT) $(WARN) $(WIN_DEFS) -I$(WIN_DEPS)/include -Isdk/include

.PHONY: windows test-windows win-deps windows-build windows-test-build
windows:
	$(Q)bash tests/scripts/win-deps.sh $(WIN_BUILD)/deps
	$(Q)$(MAKE) --no-print-directory windows-build

windows-build: $(WIN_BUILD)/etwhost$(WIN_EXE) $(WIN_PLUGIN_DLLS) $(WIN_EXAMPLE_DLLS)

windows-test-build: windows-build $(WIN_BUILD)/tests/etwhost-tests$(WIN_EXE) \
                    $(WIN_TEST_PLUGIN_DLLS) $(WIN_TOOLS)

win-deps:
	$(Q)bash tests/scripts/win-deps.sh $(WIN_BUILD)/deps

test-windows:
	$(Q)bash tests/scripts/windows-test.sh $(T)

$(WIN_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(E) "  WINCC   $<"
	$(Q)$(WIN_CC) $(WIN_CPPFLAGS) $(WIN_CFLAGS) -MMD -MP -c $< -o $@

$(WIN_BUILD)/libetwhost.a: $(WIN_HOST_OBJS)
	@rm -f $@
	$(E) "  AR      $@"
	$(Q)$(WIN_AR) rcs $@ $^

$(WIN_BUILD)/etwhost$(WIN_EXE): $(WIN_BUILD)/obj/host/main.o $(WIN_BUILD)/libetwhost.a
	$(E) "  LD      $@"
	$(Q)$(WIN_CC) $(WIN_LDFLAGS) -o $@ $^ $(WIN_HOST_LIBS)

$(WIN_BUILD)/plugins/%$(WIN_SO): $$(call win_plugin_srcs,$$*) $$(call plugin_hdrs,$$*) \
                                 sdk/include/etwhost/plugin.h
	@mkdir -p $(dir $@)
	$(E) "  PLUGIN  $@"
	$(Q)$(WIN_CC) $(WIN_PLUGIN_CFLAGS) -Iplugins/support -shared -o $@ $(filter %.c,$^) \
	    $(WIN_LDFLAGS) $(call win_plugin_libs,$*) $(WIN_SYSLIBS)

$(WIN_BUILD)/sdk-examples/%$(WIN_SO): $$(wildcard sdk/examples/$$*/*.c) sdk/include/etwhost/plugin.h
	@mkdir -p $(dir $@)
	$(E) "  PLUGIN  $@"
	$(Q)$(WIN_CC) $(WIN_PLUGIN_CFLAGS) -shared -o $@ $(filter %.c,$^) $(WIN_LDFLAGS)

$(WIN_BUILD)/tools/%$(WIN_EXE): tests/tools/%.c $(WIN_BUILD)/libetwhost.a
	@mkdir -p $(dir $@)
	$(E) "  TOOL    $@"
	$(Q)$(WIN_CC) $(WIN_CPPFLAGS) $(WIN_CFLAGS) -o $@ $< $(WIN_BUILD)/libetwhost.a \
	    $(WIN_LDFLAGS) $(WIN_HOST_LIBS)

$(WIN_BUILD)/tests/test_list.h: $(TEST_SRCS)
	@mkdir -p $(dir $@)
	@cat /dev/null $(TEST_SRCS) | sed -n 's/^TEST(\([A-Za-z0-9_]*\)).*/X(\1)/p' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp

$(WIN_BUILD)/obj/tests/runner.o: tests/runner.c $(WIN_BUILD)/tests/test_list.h
	@mkdir -p $(dir $@)
	$(E) "  WINCC   $<"
	$(Q)$(WIN_CC) $(WIN_CPPFLAGS) -I$(WIN_BUILD)/tests -Itests $(WIN_CFLAGS) -c $< -o $@

$(WIN_BUILD)/obj/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(E) "  WINCC   $<"
	$(Q)$(WIN_CC) $(WIN_CPPFLAGS) -Itests -Iplugins/support $(WIN_CFLAGS) -MMD -MP -c $< -o $@

$(WIN_BUILD)/tests/etwhost-tests$(WIN_EXE): $(WIN_BUILD)/obj/tests/runner.o $(WIN_TEST_OBJS) \
                                            $(WIN_BUILD)/libetwhost.a
	$(E) "  LD      $@"
	$(Q)$(WIN_CC) $(WIN_LDFLAGS) -o $@ $^ $(WIN_HOST_LIBS)

# Test plugins: the same variants as on Linux (tests/plugins/*.mk), all with static libgcc
# so they share no runtime state with the host but the C runtime DLL.
$(WIN_BUILD)/tests/plugins/%$(WIN_SO): tests/plugins/%.c sdk/include/etwhost/plugin.h
	@mkdir -p $(dir $@)
	$(E) "  PLUGIN  $@"
	$(Q)$(WIN_CC) $(WIN_PLUGIN_CFLAGS) -Itests/plugins -shared -o $@ $< $(WIN_LDFLAGS)
$(COMPAT_VARIANTS:%=$(WIN_BUILD)/tests/plugins/%$(WIN_SO)): $(WIN_BUILD)/tests/plugins/%$(WIN_SO): \
        tests/plugins/compat.c sdk/include/etwhost/plugin.h
	@mkdir -p $(dir $@)
	$(E) "  PLUGIN  $@"
	$(Q)$(WIN_CC) $(WIN_PLUGIN_CFLAGS) $(COMPAT_FLAGS_$*) $(WIN_COMPAT_FLAGS_$*) -shared -o $@ $< \
	    $(WIN_LDFLAGS)
# compat_crt links against the Universal CRT (ucrtbase.dll) while the host uses msvcrt.dll:
# two C runtimes, two heaps in one process; the ABI's ownership rules must keep them apart.
WIN_COMPAT_FLAGS_compat_crt = -D_UCRT -specs=$(WIN_BUILD)/ucrt.specs
$(WIN_BUILD)/tests/plugins/compat_crt$(WIN_SO): $(WIN_BUILD)/ucrt.specs
$(WIN_BUILD)/ucrt.specs:
	@mkdir -p $(dir $@)
	$(Q)$(WIN_CC) -dumpspecs | sed 's/-lmsvcrt/-lucrt/g' > $@

# Header dependencies of the Windows objects, read only when a Windows target is asked for.
ifneq ($(filter windows% win-% test-windows $(WIN_BUILD)/%,$(MAKECMDGOALS)),)
-include $(shell find $(WIN_BUILD)/obj -name '*.d' 2>/dev/null)
endif
# ==== end of the Windows cross build ======================================================
