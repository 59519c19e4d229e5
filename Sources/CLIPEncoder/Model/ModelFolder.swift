import Foundation

/// The files of a model folder and the format they make, detected from what is present.
struct ModelFolder {
    enum Format { case huggingFace, openCLIP }

    let format: Format
    let configurationFile: URL
    let weightsFile: URL

    /// One-line conversion of open_clip's PyTorch pickle into the safetensors file loaded here.
    static let openCLIPConversion =
        #"python3 -c "import torch, safetensors.torch as st; d = torch.load('open_clip_pytorch_model.bin', map_location='cpu'); "#
        + #"st.save_file({k: v.float().contiguous() for k, v in d.get('state_dict', d).items()}, 'open_clip_model.safetensors')""#

    /// One-line conversion of one of OpenAI's TorchScript files (`RN50.pt`, …) into an open_clip folder.
    static let torchScriptConversion =
        #"python3 -c "import open_clip, json, safetensors.torch as st; name = 'RN50-quickgelu'; "#
        + #"m = open_clip.load_openai_model('RN50.pt', device='cpu'); "#
        + #"st.save_file({k: v.float().contiguous() for k, v in m.state_dict().items()}, 'open_clip_model.safetensors'); "#
        + #"json.dump({'model_cfg': open_clip.get_model_config(name)}, open('open_clip_config.json', 'w'))""#

    /// Detects the format of `directory`.
    /// - Throws: `CLIPEncoderError.invalidModelDirectory` saying which files were looked for and,
    ///   for PyTorch pickles or TorchScript files, how to convert them.
    init(directory: URL) throws {
        let manager = FileManager.default
        func has(_ name: String) -> Bool { manager.fileExists(atPath: directory.appendingPathComponent(name).path) }
        func fail(_ reason: String) -> CLIPEncoderError { .invalidModelDirectory(path: directory.path, reason: reason) }
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw fail("not a folder (expected a Hugging Face CLIP folder or an open_clip folder)")
        }
        if has("open_clip_config.json") {
            guard has("open_clip_model.safetensors") else {
                if has("open_clip_pytorch_model.bin") {
                    throw fail("only open_clip_pytorch_model.bin is present: convert it to open_clip_model.safetensors in the folder with\n    "
                        + Self.openCLIPConversion)
                }
                throw fail("open_clip_config.json is present but open_clip_model.safetensors is missing")
            }
            format = .openCLIP
            configurationFile = directory.appendingPathComponent("open_clip_config.json")
            weightsFile = directory.appendingPathComponent("open_clip_model.safetensors")
            return
        }
        if has("config.json") {
            guard has("model.safetensors") else {
                let hint = has("pytorch_model.bin")
                    ? " (only pytorch_model.bin is present: convert it with safetensors, e.g. `CLIPModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)`)"
                    : ""
                throw fail("model.safetensors is missing" + hint)
            }
            format = .huggingFace
            configurationFile = directory.appendingPathComponent("config.json")
            weightsFile = directory.appendingPathComponent("model.safetensors")
            return
        }
        let contents = (try? manager.contentsOfDirectory(atPath: directory.path)) ?? []
        let looked = "looked for a Hugging Face CLIP folder (config.json + model.safetensors) or an open_clip folder "
            + "(open_clip_config.json + open_clip_model.safetensors)"
        if let script = contents.first(where: { $0.hasSuffix(".pt") }) {
            throw fail("\(looked); \(script) looks like one of OpenAI's TorchScript files: convert it into an open_clip folder with\n    "
                + Self.torchScriptConversion.replacingOccurrences(of: "RN50.pt", with: script)
                + "\n(with the matching open_clip model name, e.g. ViT-B-32-quickgelu for ViT-B-32.pt)")
        }
        throw fail(looked + (contents.contains("open_clip_pytorch_model.bin") ? "; for open_clip_pytorch_model.bin, also fetch open_clip_config.json" : ""))
    }
}
