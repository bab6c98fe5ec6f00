fn answer(case: &Value) -> Value {
    let truth: Vec<usize> = list(&case["truth"]);
    let pred: Vec<usize> = list(&case["pred"]);
    let classes = case["classes"].as_u64().unwrap_or(0) as usize;
    let matrix = student::confusion_matrix(&truth, &pred, classes);
    let recall = student::per_class_recall(&matrix);
    json!({ "matrix": matrix, "recall": recall })
}
