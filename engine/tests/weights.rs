//! Checkpoints round-trip, and ImageNet ResNet-18 weights import from a file with torchvision's
//! tensor names (written here from a model of ours, as timm would publish it).

use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, ModuleStore, SafetensorsStore};
use burn::tensor::Device;
use petri_engine::model::resnet::ResNetConfig;
use petri_engine::model::weights::{import_imagenet_resnet18, load_checkpoint, save_checkpoint};
use petri_engine::model::{init_seeded, trainable_params};

fn values(t: burn::tensor::Tensor<4>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn checkpoint_round_trip_keeps_weights_and_rejects_other_architectures() {
    let d = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt/model.safetensors");
    let a = init_seeded(&d, 1, |d| ResNetConfig::new(2).with_in_channels(1).init(d));
    save_checkpoint(&a, &path, &serde_json::json!({"seed": 1})).unwrap();
    let b = init_seeded(&d, 2, |d| ResNetConfig::new(2).with_in_channels(1).init(d));
    assert_ne!(values(a.conv1.weight.val()), values(b.conv1.weight.val()));
    let b = load_checkpoint(b, &path).unwrap();
    assert_eq!(values(a.conv1.weight.val()), values(b.conv1.weight.val()));
    let other = init_seeded(&d, 0, |d| {
        petri_engine::model::unet::UNetConfig::new(2).init(d)
    });
    let err = load_checkpoint(other, &path).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
}

/// A 1000-class ResNet-18 of ours, saved to `path` as timm publishes ImageNet weights:
/// safetensors with torchvision's tensor names.
fn imagenet_like(
    d: &Device,
    seed: u64,
    path: &std::path::Path,
) -> petri_engine::model::resnet::ResNet {
    let model = init_seeded(d, seed, |d| ResNetConfig::new(1000).init(d));
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .with_key_remapping(r"downsample\.conv\.", "downsample.0.")
        .with_key_remapping(r"downsample\.bn\.", "downsample.1.");
    model.save_into(&mut store).unwrap();
    model
}

#[test]
fn imagenet_weights_with_torchvision_names_import_for_grey_images() {
    let d = Device::flex().autodiff();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resnet18.safetensors");
    let imagenet = imagenet_like(&d, 5, &path);
    let names = SafetensorsStore::from_file(&path).keys().unwrap();
    assert!(
        names.iter().any(|n| n == "layer2.0.downsample.0.weight"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "bn1.running_var"), "{names:?}");

    let model = import_imagenet_resnet18(&path, 1, 2, &d).unwrap();
    let rgb = imagenet.conv1.weight.val().sum_dim(1);
    let grey = model.conv1.weight.val();
    assert_eq!(grey.dims(), [64, 1, 7, 7]);
    let (a, b) = (values(rgb), values(grey));
    assert!(
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5),
        "conv1 is the sum of the RGB kernels"
    );
    assert_eq!(
        values(imagenet.layer3[0].conv2.weight.val()),
        values(model.layer3[0].conv2.weight.val())
    );
    assert_eq!(model.fc.weight.val().dims(), [512, 2]);
    assert_eq!(trainable_params(&model.freeze_backbone()), 512 * 2 + 2);
    let err = import_imagenet_resnet18(&dir.path().join("none.pth"), 3, 9, &d).unwrap_err();
    assert!(err.to_string().contains("none.pth"));
}

/// The tensors of a safetensors file: name, shape, little-endian f32 values.
fn read_safetensors(path: &std::path::Path) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut out: Vec<_> = header
        .into_iter()
        .filter(|(k, _)| k != "__metadata__")
        .map(|(name, v)| {
            assert_eq!(v["dtype"], "F32", "{name}");
            let shape = v["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let [a, b] = [0, 1].map(|i| v["data_offsets"][i].as_u64().unwrap() as usize);
            (name, shape, data[a..b].to_vec())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Writes `tensors` as `torch.save(state_dict)` does (PyTorch >= 1.6): a zip with the pickled
/// OrderedDict in `NAME/data.pkl`, each tensor's storage in `NAME/data/I`, and the `version`
/// and `byteorder` entries. The pickle is protocol 2 with the opcodes torch emits.
fn write_torch_checkpoint(path: &std::path::Path, tensors: &[(String, Vec<usize>, Vec<u8>)]) {
    use std::io::Write;
    fn unicode(p: &mut Vec<u8>, s: &str) {
        p.push(b'X');
        p.extend_from_slice(&(s.len() as u32).to_le_bytes());
        p.extend_from_slice(s.as_bytes());
    }
    fn int(p: &mut Vec<u8>, v: usize) {
        p.push(b'J');
        p.extend_from_slice(&(v as i32).to_le_bytes());
    }
    fn ints(p: &mut Vec<u8>, vs: &[usize]) {
        p.push(b'(');
        vs.iter().for_each(|&v| int(p, v));
        p.push(b't');
    }
    let mut p = vec![0x80, 2];
    p.extend_from_slice(b"ccollections\nOrderedDict\n)R(");
    for (i, (name, shape, _)) in tensors.iter().enumerate() {
        unicode(&mut p, name);
        p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n(");
        // Persistent id: ('storage', torch.FloatStorage, key, location, numel).
        p.push(b'(');
        unicode(&mut p, "storage");
        p.extend_from_slice(b"ctorch\nFloatStorage\n");
        unicode(&mut p, &i.to_string());
        unicode(&mut p, "cpu");
        int(&mut p, shape.iter().product());
        p.extend_from_slice(b"tQ");
        int(&mut p, 0);
        ints(&mut p, shape);
        let strides: Vec<usize> = (0..shape.len())
            .map(|d| shape[d + 1..].iter().product())
            .collect();
        ints(&mut p, &strides);
        p.push(0x89); // requires_grad = False
        p.extend_from_slice(b"ccollections\nOrderedDict\n)R");
        p.extend_from_slice(b"tR");
    }
    p.extend_from_slice(b"u.");

    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("resnet18/data.pkl", stored).unwrap();
    zip.write_all(&p).unwrap();
    zip.start_file("resnet18/byteorder", stored).unwrap();
    zip.write_all(b"little").unwrap();
    for (i, (_, _, bytes)) in tensors.iter().enumerate() {
        zip.start_file(format!("resnet18/data/{i}"), stored)
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.start_file("resnet18/version", stored).unwrap();
    zip.write_all(b"3\n").unwrap();
    zip.finish().unwrap();
}

#[test]
fn imagenet_weights_import_from_a_torch_save_checkpoint() {
    let d = Device::flex().autodiff();
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("resnet18.safetensors");
    let imagenet = imagenet_like(&d, 7, &st);
    let tensors = read_safetensors(&st);
    assert!(tensors.iter().any(|t| t.0 == "layer4.1.bn2.running_mean"));
    let pth = dir.path().join("resnet18-f37072fd.pth");
    write_torch_checkpoint(&pth, &tensors);

    let model = import_imagenet_resnet18(&pth, 3, 9, &d).unwrap();
    for (a, b) in [
        (&imagenet.conv1.weight, &model.conv1.weight),
        (
            &imagenet.layer2[0].conv1.weight,
            &model.layer2[0].conv1.weight,
        ),
        (
            &imagenet.layer3[0].downsample.as_ref().unwrap().conv.weight,
            &model.layer3[0].downsample.as_ref().unwrap().conv.weight,
        ),
    ] {
        assert_eq!(values(a.val()), values(b.val()));
    }
    let running_var = |m: &petri_engine::model::resnet::ResNet| {
        m.layer4[1]
            .bn2
            .running_var
            .value()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    assert_eq!(running_var(&imagenet), running_var(&model));
    assert_eq!(model.fc.weight.val().dims(), [512, 9]);

    // A checkpoint of another network is refused with the file's name.
    write_torch_checkpoint(&pth, &tensors[..10]);
    let err = import_imagenet_resnet18(&pth, 3, 9, &d)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("resnet18-f37072fd.pth") && err.contains("ResNet-18"),
        "{err}"
    );
}
