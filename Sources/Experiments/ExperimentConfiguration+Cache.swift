import FeatureCache
import Foundation

extension ExperimentConfiguration {
    /// The feature cache this configuration names, with its extraction settings.
    public var featureCache: FeatureCache {
        var cache = FeatureCache(directory: cacheDirectory)
        cache.batchSize = extraction.batchSize
        cache.chunkSize = extraction.chunkSize
        cache.pipeline = extraction.preprocessing
        cache.cropRounding = extraction.cropRounding
        cache.jpegDecoding = extraction.jpegDecoding
        cache.toolVersion = FeatureCache.defaultToolVersion
        return cache
    }
}
