fn answer(case: &Value) -> Value {
    let pred: Vec<u8> = list(&case["pred"]);
    let truth: Vec<u8> = list(&case["truth"]);
    let classes = case["classes"].as_u64().unwrap_or(0) as usize;
    json!({ "dice": student::dice_per_class(&pred, &truth, classes) })
}
