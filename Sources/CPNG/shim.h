// libpng 1.6, simplified read API (png_image_*), usable from Swift without setjmp.
#include <png.h>
