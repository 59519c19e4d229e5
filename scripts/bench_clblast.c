// CLBlast's SGEMM on the first OpenCL device, 1024³ (or the size given), median of 5 runs after
// a warm-up: the comparison point for `upadapter kernels bench --device opencl`.
//
//   apt-get install libclblast-dev
//   cc -O2 -o /tmp/bench_clblast scripts/bench_clblast.c -lclblast -lOpenCL && /tmp/bench_clblast 1024
#define CL_TARGET_OPENCL_VERSION 120
#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1024;
    cl_platform_id platform;
    cl_device_id device;
    if (clGetPlatformIDs(1, &platform, NULL) != CL_SUCCESS || clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL) != CL_SUCCESS) {
        fprintf(stderr, "no OpenCL device\n");
        return 1;
    }
    cl_context context = clCreateContext(NULL, 1, &device, NULL, NULL, NULL);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, NULL);
    float *host = malloc(n * n * sizeof(float));
    for (size_t i = 0; i < n * n; ++i) host[i] = (float)(i % 97) / 97.0f - 0.5f;
    cl_mem a = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * n * 4, host, NULL);
    cl_mem b = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, n * n * 4, host, NULL);
    cl_mem c = clCreateBuffer(context, CL_MEM_READ_WRITE, n * n * 4, NULL, NULL);
    double times[5];
    for (int run = -1; run < 5; ++run) {
        double start = now();
        CLBlastStatusCode status = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, n, n, n, 1.0f,
                                                a, 0, n, b, 0, n, 0.0f, c, 0, n, &queue, NULL);
        clFinish(queue);
        if (status != CLBlastSuccess) {
            fprintf(stderr, "CLBlastSgemm failed: %d\n", status);
            return 1;
        }
        if (run >= 0) times[run] = now() - start;
    }
    qsort(times, 5, sizeof(double), compare);
    printf("CLBlast SGEMM %zux%zux%zu: %.2f GFLOP/s (median %.1f ms)\n", n, n, n, 2.0 * n * n * n / times[2] / 1e9, times[2] * 1e3);
    return 0;
}
