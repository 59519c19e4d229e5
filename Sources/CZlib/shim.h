// zlib, for gzip-compressed inputs (OpenAI's BPE merges file, IDX datasets).
#include <zlib.h>
