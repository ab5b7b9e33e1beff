# The kafka sink produces with librdkafka and compresses its disk spool with zstd.
# -z nodelete keeps the plugin (and so librdkafka) mapped after dlclose: librdkafka keeps
# process-wide state (its global init, TLS) that is not released on unload, so unloading
# would leak it on every config reload and upset LeakSanitizer at exit.
LIBS_kafka := -lrdkafka -lzstd -ljansson -Wl,-z,nodelete
# Shared plugin-side code (plugins/support/): the spool's frame and ack checksums.
SRCS_kafka := plugins/support/psup_crc32c.c
