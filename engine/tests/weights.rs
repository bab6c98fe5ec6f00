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

#[test]
fn imagenet_weights_with_torchvision_names_import_for_grey_images() {
    let d = Device::flex().autodiff();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resnet18.safetensors");
    let imagenet = init_seeded(&d, 5, |d| ResNetConfig::new(1000).init(d));
    let mut store = SafetensorsStore::from_file(&path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .with_key_remapping(r"downsample\.conv\.", "downsample.0.")
        .with_key_remapping(r"downsample\.bn\.", "downsample.1.");
    imagenet.save_into(&mut store).unwrap();
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
