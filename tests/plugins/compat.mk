# Variants of tests/plugins/compat.c at several plugin ABI versions.
COMPAT_VARIANTS := compat_1_0 compat_1_1 compat_1_9 compat_2_0 compat_noentry compat_crt
TEST_PLUGIN_EXTRA += $(COMPAT_VARIANTS:%=$(BUILD)/tests/plugins/%.so)
COMPAT_FLAGS_compat_1_0 := -DCOMPAT_MAJOR=1 -DCOMPAT_MINOR=0
COMPAT_FLAGS_compat_1_1 := -DCOMPAT_MAJOR=1 -DCOMPAT_MINOR=1
COMPAT_FLAGS_compat_1_9 := -DCOMPAT_MAJOR=1 -DCOMPAT_MINOR=9
COMPAT_FLAGS_compat_2_0 := -DCOMPAT_MAJOR=2 -DCOMPAT_MINOR=0
COMPAT_FLAGS_compat_noentry := -DCOMPAT_NO_ENTRY
# Its own copy of the compiler runtime (on Windows also another C runtime: see the
# Windows section of the Makefile) to show ownership across runtimes holds.
COMPAT_FLAGS_compat_crt := -DCOMPAT_MINOR=0 -DCOMPAT_CRT -static-libgcc
$(COMPAT_VARIANTS:%=$(BUILD)/tests/plugins/%.so): $(BUILD)/tests/plugins/%.so: tests/plugins/compat.c sdk/include/etwhost/plugin.h
	@mkdir -p $(dir $@)
	$(E) "  PLUGIN  $@"
	$(Q)$(CC) $(PLUGIN_CFLAGS) $(COMPAT_FLAGS_$*) -shared -o $@ $< $(LDFLAGS)
