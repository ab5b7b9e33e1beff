# The filter plugin matches property values with PCRE2 regular expressions.
LIBS_filter := -lpcre2-8
