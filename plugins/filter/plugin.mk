# The filter plugin matches property values with PCRE2 regular expressions and reads its
# rule with jansson (its own link; on Windows a static copy inside the DLL).
LIBS_filter := -lpcre2-8 -ljansson
