# The file sink compresses rotated files with zstd.
LIBS_file := -lzstd
# Shared plugin-side code (plugins/support/); the Windows build takes *_win.c for *_posix.c.
SRCS_file := plugins/support/psup_os_posix.c plugins/support/psup_settings.c \
             plugins/support/psup_rotate.c plugins/support/psup_reserve_posix.c
