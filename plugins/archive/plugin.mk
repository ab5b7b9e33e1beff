# The archive sink compresses blocks with zstd and trains dictionaries with ZDICT.
LIBS_archive := -lzstd
# Shared plugin-side code (plugins/support/); the Windows build takes *_win.c for *_posix.c.
SRCS_archive := plugins/support/psup_os_posix.c plugins/support/psup_mem_posix.c plugins/support/psup_settings.c \
                plugins/support/psup_rotate.c plugins/support/psup_crc32c.c
