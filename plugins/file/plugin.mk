# The file sink compresses rotated files with zstd.
LIBS_file := -lzstd
