fn answer(case: &Value) -> Value {
    let x: Vec<Vec<f64>> = list(&case["x_train"]);
    let y: Vec<f64> = list(&case["y_train"]);
    let k = case["k"].as_u64().unwrap_or(0) as usize;
    json!({ "features": student::select_features(&x, &y, k) })
}
