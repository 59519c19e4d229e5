import COpenCL
import Foundation

/// Kernel launches and the host time spent issuing them (argument setting and enqueueing,
/// from the call to `launch` until the enqueue returned; device time excluded), with the part
/// spent inside the driver's `clEnqueueNDRangeKernel` apart: on a busy CPU driver that call
/// can wait for the driver's own worker threads.
public struct OpenCLLaunchStatistics: Sendable, Equatable, Codable {
    public var launches = 0
    public var hostSeconds = 0.0
    /// The part of `hostSeconds` spent in `clEnqueueNDRangeKernel`.
    public var enqueueSeconds = 0.0
    /// Mean host time per launch in microseconds.
    public var hostMicrosecondsPerLaunch: Double { perLaunch(hostSeconds) }
    /// Mean time per launch in this backend (kernel look-up, argument setting), in microseconds.
    public var backendMicrosecondsPerLaunch: Double { perLaunch(hostSeconds - enqueueSeconds) }
    /// Mean time per launch in the driver's enqueue call, in microseconds.
    public var enqueueMicrosecondsPerLaunch: Double { perLaunch(enqueueSeconds) }

    private func perLaunch(_ seconds: Double) -> Double { launches == 0 ? 0 : seconds / Double(launches) * 1e6 }
}

/// Device time of one kernel, from OpenCL profiling events.
public struct OpenCLKernelTime: Sendable, Codable {
    public let kernel: String
    public let calls: Int
    public let seconds: Double
}

/// What the runtime records of its launches: the kernels launched, the launch counters and,
/// while `timing` is on, the events whose device times `kernelSeconds` accumulates.
struct LaunchEvents {
    var launched: Set<KernelName> = []
    var statistics = OpenCLLaunchStatistics()
    var timing = false
    var pending: [(KernelName, cl_event)] = []
    var kernelSeconds: [KernelName: (calls: Int, seconds: Double)] = [:]
}

extension OpenCLRuntime {
    /// Timed launches whose events are held at most before they are folded into the totals.
    static let pendingEventLimit = 4096

    /// Device seconds per kernel since timing was switched on, largest first. Waits for the queue.
    func kernelTimes() throws -> [OpenCLKernelTime] {
        try locked {
            try foldPendingEvents()
            return events.kernelSeconds.map { OpenCLKernelTime(kernel: $0.key.rawValue, calls: $0.value.calls, seconds: $0.value.seconds) }
                .sorted { $0.seconds > $1.seconds }
        }
    }

    /// Waits for the queue, adds the device time of every pending event to the per-kernel
    /// totals and releases the events. Call with the lock held.
    func foldPendingEvents() throws {
        try check(clFinish(queue), "clFinish")
        defer {
            for (_, event) in events.pending { clReleaseEvent(event) }
            events.pending.removeAll()
        }
        for (kernel, event) in events.pending {
            var started: cl_ulong = 0, ended: cl_ulong = 0
            try check(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), MemoryLayout<cl_ulong>.size, &started, nil),
                      "clGetEventProfilingInfo(\(kernel))")
            try check(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), MemoryLayout<cl_ulong>.size, &ended, nil),
                      "clGetEventProfilingInfo(\(kernel))")
            let previous = events.kernelSeconds[kernel] ?? (0, 0)
            events.kernelSeconds[kernel] = (previous.calls + 1, previous.seconds + Double(ended &- started) / 1e9)
        }
    }

    /// Forgets the kernel times gathered so far.
    func resetKernelTimes() throws {
        _ = try kernelTimes()
        locked { events.kernelSeconds.removeAll() }
    }

    /// Waits for the queue and throws `kernelFailed` naming `key` when its event reports an error.
    func finishAndCheck(_ event: cl_event?, kernel key: KernelKey) throws {
        let name = key.name.rawValue + (key.defines.isEmpty ? "" : " [\(key.buildOptions)]")
        let finished = clFinish(queue)
        if finished != CL_SUCCESS { throw ComputeError.kernelFailed(kernel: name, status: finished) }
        guard let event else { return }
        var executionStatus: cl_int = 0
        try check(clGetEventInfo(event, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), MemoryLayout<cl_int>.size, &executionStatus, nil),
                  "clGetEventInfo(\(name))")
        if executionStatus < 0 { throw ComputeError.kernelFailed(kernel: name, status: executionStatus) }
    }
}
