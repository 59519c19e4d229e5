// =================================================================================================
// convolution.cl: the patch matrix (im2col) of a 2-D convolution over channels-last images
//
//   convolution_patches:
//     y[b][oy][ox][(ky · k + kx) · C + c] = x[b][oy · s + ky − p][ox · s + kx − p][c]
//     (0 where the source pixel lies in the zero padding), for an image batch x
//     [batch][height][width][C], kernel size k, stride s, padding p, and
//     outHeight = (height + 2p − k) / s + 1 (likewise outWidth).
//
//   The convolution is then one matrix product of y, [batch · outHeight · outWidth, k · k · C],
//   with the weight stored [out][ky][kx][c] (`matmul` with transposeB, bias and ReLU epilogue),
//   whose result [batch][outHeight][outWidth][out] is again channels-last: the next layer reads
//   it without a transpose.
//
// Layout: row-major float32, channels last (NHWC).
// Algorithm: a 1-D range over the output's elements, in its order (pixel, kernel tap, channel):
//   consecutive work-items copy consecutive channels of one tap, so writes and reads are
//   contiguous runs of C words. One dimension because GPU grids cap dimensions 1 and 2 at 65 535
//   groups, and a batch's output pixels (802 816 for RN50's stem at batch 64) exceed that.
// Tunables: none.
// =================================================================================================

__kernel void convolution_patches(const int rows, const int height, const int width, const int channels,
                                  const int kernelSize, const int stride, const int padding,
                                  const int outHeight, const int outWidth,
                                  __global const float* x, __global float* y) {
    const size_t index = get_global_id(0);
    const int taps = kernelSize * kernelSize;
    if (index >= (size_t)rows * taps * channels) return;
    const int c = (int)(index % channels);
    const size_t pixelTap = index / channels;
    const int tap = (int)(pixelTap % taps);
    const int row = (int)(pixelTap / taps);
    const int ky = tap / kernelSize;
    const int kx = tap - ky * kernelSize;
    const int ox = row % outWidth;
    const int rest = row / outWidth;
    const int oy = rest % outHeight;
    const int b = rest / outHeight;
    const int sy = oy * stride + ky - padding;
    const int sx = ox * stride + kx - padding;
    y[((size_t)row * kernelSize * kernelSize + tap) * channels + c] = (sy >= 0 && sy < height && sx >= 0 && sx < width)
        ? x[(((size_t)b * height + sy) * width + sx) * channels + c] : 0.0f;
}
