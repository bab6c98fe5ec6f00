// The harness of the Petri grader: it owns `main`, calls the student's functions in
// `student.rs` once per case, and writes the answers. It never scores anything: the grader
// compares the answers with its own.
#![allow(dead_code)]

mod student;

use petri_engine::data::image::{Image, Mask};
use serde_json::{Value, json};
use std::panic;

fn main() {
    // The panic message reaches the answer (below), not the terminal.
    panic::set_hook(Box::new(|_| {}));
    let text = std::fs::read_to_string("request.json").expect("request.json is readable");
    let request: Value = serde_json::from_str(&text).expect("request.json is JSON");
    let cases = request["cases"].as_array().cloned().unwrap_or_default();
    // Each case timed here, where it runs: the grader's reports give a check the time of its
    // cases (the process's own start and the answer file are not any check's).
    let mut seconds = Vec::with_capacity(cases.len());
    let answers: Vec<Value> = cases
        .iter()
        .map(|case| {
            let started = std::time::Instant::now();
            let answer = match panic::catch_unwind(panic::AssertUnwindSafe(|| answer(case))) {
                Ok(v) => v,
                Err(payload) => {
                    let msg = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".into());
                    json!({ "error": format!("your code panicked: {msg}") })
                }
            };
            seconds.push(started.elapsed().as_secs_f64());
            answer
        })
        .collect();
    let body = serde_json::to_vec(&json!({ "answers": answers, "seconds": seconds }))
        .expect("answers serialise");
    std::fs::write("response.json", body).expect("response.json is writable");
}

fn image_of(v: &Value) -> Image {
    let n = |k: &str| v[k].as_u64().unwrap_or(0) as usize;
    let data: Vec<f32> = serde_json::from_value(v["data"].clone()).unwrap_or_default();
    Image::new(n("channels"), n("height"), n("width"), data)
}

fn json_of_image(img: &Image) -> Value {
    json!({ "channels": img.channels, "height": img.height, "width": img.width, "data": img.data })
}

fn mask_of(v: &Value) -> Mask {
    let n = |k: &str| v[k].as_u64().unwrap_or(0) as usize;
    let data: Vec<u8> = serde_json::from_value(v["data"].clone()).unwrap_or_default();
    Mask::new(n("height"), n("width"), data)
}

fn json_of_mask(m: &Mask) -> Value {
    json!({ "height": m.height, "width": m.width, "data": m.data })
}

fn list<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

// ---- the task's part ----
