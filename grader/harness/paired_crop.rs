fn answer(case: &Value) -> Value {
    let img = image_of(&case["image"]);
    let mask = mask_of(&case["mask"]);
    let size = case["size"].as_u64().unwrap_or(1) as usize;
    let mut rng = petri_engine::rng::Rng::new(case["seed"].as_u64().unwrap_or(0));
    let (i, m) = student::random_crop_pair(&img, &mask, size, &mut rng);
    json!({ "image": json_of_image(&i), "mask": json_of_mask(&m) })
}
