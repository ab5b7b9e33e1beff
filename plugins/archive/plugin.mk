# The archive sink compresses blocks with zstd and trains dictionaries with ZDICT.
LIBS_archive := -lzstd
