# The kafka sink produces with librdkafka and compresses its disk spool with zstd.
LIBS_kafka := -lrdkafka -lzstd
