/// A number written without a trailing `.0` when it is whole (`90`, `0.5`): in cache keys, run
/// names and messages, so that the same setting is always spelled alike.
public func formatNumber(_ value: Double) -> String {
    if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}
