// libjpeg-turbo through its TurboJPEG API: errors come back as return codes and strings,
// so Swift needs no setjmp/longjmp error handler.
#include <turbojpeg.h>
