// OpenCL 1.2 API, the level every driver we target (PoCL, NVIDIA, AMD, Intel) provides.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
