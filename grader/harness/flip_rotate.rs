fn answer(case: &Value) -> Value {
    let img = image_of(&case["image"]);
    let out = match case["op"].as_str() {
        Some("hflip") => student::hflip(&img),
        _ => student::rot90(&img),
    };
    json!({ "image": json_of_image(&out) })
}
