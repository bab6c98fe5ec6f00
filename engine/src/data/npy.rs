//! NumPy `.npy` arrays (format versions 1, 2 and 3), as found inside MedMNIST `.npz` files.

use crate::{Error, Result};
use std::path::Path;

/// Element types we accept. MedMNIST uses `u1`; re-saved copies sometimes carry wider ints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
    Bool,
}

impl Dtype {
    fn parse(descr: &str) -> Option<(Dtype, bool)> {
        // The first character is the byte order: '<' little, '>' big, '|' not applicable, '=' native.
        let (order, code) = descr.split_at(1.min(descr.len()));
        let (order, code) = if matches!(order, "<" | ">" | "|" | "=") {
            (order, code)
        } else {
            ("|", descr)
        };
        let big = order == ">";
        let dtype = match code {
            "u1" | "B" => Dtype::U8,
            "i1" | "b" => Dtype::I8,
            "u2" => Dtype::U16,
            "i2" => Dtype::I16,
            "u4" => Dtype::U32,
            "i4" => Dtype::I32,
            "u8" => Dtype::U64,
            "i8" => Dtype::I64,
            "f4" => Dtype::F32,
            "f8" => Dtype::F64,
            "b1" | "?" => Dtype::Bool,
            _ => return None,
        };
        Some((dtype, big))
    }

    pub fn size(self) -> usize {
        match self {
            Dtype::U8 | Dtype::I8 | Dtype::Bool => 1,
            Dtype::U16 | Dtype::I16 => 2,
            Dtype::U32 | Dtype::I32 | Dtype::F32 => 4,
            Dtype::U64 | Dtype::I64 | Dtype::F64 => 8,
        }
    }
}

/// An array as stored: its shape, element type and raw little-endian bytes.
#[derive(Debug, Clone)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub dtype: Dtype,
    data: Vec<u8>,
}

impl NpyArray {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements as `u8`, if the array holds `u8` (images are never converted silently).
    pub fn as_u8(&self) -> Option<&[u8]> {
        (self.dtype == Dtype::U8).then_some(&self.data)
    }

    pub fn into_u8(self) -> std::result::Result<Vec<u8>, Self> {
        if self.dtype == Dtype::U8 {
            Ok(self.data)
        } else {
            Err(self)
        }
    }

    /// Every element as `f64` (labels may be stored as any integer or float type).
    pub fn to_f64(&self) -> Vec<f64> {
        let n = self.dtype.size();
        self.data
            .chunks_exact(n)
            .map(|b| match self.dtype {
                Dtype::U8 | Dtype::Bool => b[0] as f64,
                Dtype::I8 => b[0] as i8 as f64,
                Dtype::U16 => u16::from_le_bytes([b[0], b[1]]) as f64,
                Dtype::I16 => i16::from_le_bytes([b[0], b[1]]) as f64,
                Dtype::U32 => u32::from_le_bytes(b.try_into().unwrap()) as f64,
                Dtype::I32 => i32::from_le_bytes(b.try_into().unwrap()) as f64,
                Dtype::U64 => u64::from_le_bytes(b.try_into().unwrap()) as f64,
                Dtype::I64 => i64::from_le_bytes(b.try_into().unwrap()) as f64,
                Dtype::F32 => f32::from_le_bytes(b.try_into().unwrap()) as f64,
                Dtype::F64 => f64::from_le_bytes(b.try_into().unwrap()),
            })
            .collect()
    }

    /// Builds an array (used by tests and by writers of fixture files).
    pub fn from_u8(shape: Vec<usize>, data: Vec<u8>) -> Self {
        assert_eq!(shape.iter().product::<usize>(), data.len());
        NpyArray {
            shape,
            dtype: Dtype::U8,
            data,
        }
    }

    /// Serialises as a version 1.0 `.npy` file.
    pub fn to_npy_bytes(&self) -> Vec<u8> {
        let descr = match self.dtype {
            Dtype::U8 => "|u1",
            Dtype::I8 => "|i1",
            Dtype::Bool => "|b1",
            Dtype::U16 => "<u2",
            Dtype::I16 => "<i2",
            Dtype::U32 => "<u4",
            Dtype::I32 => "<i4",
            Dtype::U64 => "<u8",
            Dtype::I64 => "<i8",
            Dtype::F32 => "<f4",
            Dtype::F64 => "<f8",
        };
        let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        let shape = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let unpadded = 10 + header.len() + 1;
        header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&self.data);
        out
    }
}

/// Parses a `.npy` byte stream. `name` is used in error messages (e.g. `file.npz:train_images`).
pub fn parse(bytes: &[u8], name: &Path) -> Result<NpyArray> {
    let bad = |problem: String| Error::format(name, problem);
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad(
            "not a NumPy .npy array (missing the \\x93NUMPY magic)".into()
        ));
    }
    let major = bytes[6];
    let (header_len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated .npy header".into()));
            }
            (
                u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
                12,
            )
        }
        v => {
            return Err(bad(format!(
                "unsupported .npy format version {v} (1, 2 and 3 are supported)"
            )));
        }
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad("truncated .npy header".into()))?;
    let header = std::str::from_utf8(header).map_err(|_| bad(".npy header is not text".into()))?;

    let descr =
        dict_value(header, "descr").ok_or_else(|| bad("no 'descr' in .npy header".into()))?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let (dtype, big_endian) = Dtype::parse(descr).ok_or_else(|| {
        bad(format!(
            "unsupported dtype '{descr}': Petri reads integer, float and bool arrays"
        ))
    })?;
    let fortran = dict_value(header, "fortran_order")
        .map(|v| v.trim().starts_with("True"))
        .unwrap_or(false);
    let shape_text =
        dict_value(header, "shape").ok_or_else(|| bad("no 'shape' in .npy header".into()))?;
    let shape =
        parse_shape(shape_text).ok_or_else(|| bad(format!("cannot read shape {shape_text}")))?;
    if fortran && shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err(bad(
            "Fortran-ordered arrays are not supported; re-save with numpy.ascontiguousarray".into(),
        ));
    }

    let count: usize = shape.iter().product();
    let expected = count * dtype.size();
    let body = &bytes[start + header_len..];
    if body.len() < expected {
        return Err(bad(format!(
            "truncated: shape {shape:?} needs {expected} bytes of data, found {}",
            body.len()
        )));
    }
    let mut data = body[..expected].to_vec();
    if big_endian && dtype.size() > 1 {
        for chunk in data.chunks_exact_mut(dtype.size()) {
            chunk.reverse();
        }
    }
    Ok(NpyArray { shape, dtype, data })
}

/// The text of `key`'s value in a Python dict literal (up to the next top-level comma).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pos = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[pos + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?;
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    Some(rest)
}

fn parse_shape(text: &str) -> Option<Vec<usize>> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_u8_and_reads_v2_and_big_endian() {
        let a = NpyArray::from_u8(vec![2, 3], (0..6).collect());
        let back = parse(&a.to_npy_bytes(), Path::new("a.npy")).unwrap();
        assert_eq!(back.shape, vec![2, 3]);
        assert_eq!(back.as_u8().unwrap(), &[0, 1, 2, 3, 4, 5]);

        let header = "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }\n";
        let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
        v2.extend_from_slice(&(header.len() as u32).to_le_bytes());
        v2.extend_from_slice(header.as_bytes());
        v2.extend_from_slice(&[0x01, 0x00, 0xFF, 0xFE]);
        let b = parse(&v2, Path::new("b.npy")).unwrap();
        assert_eq!(b.to_f64(), vec![256.0, -2.0]);
    }

    #[test]
    fn rejects_bad_input_with_the_name() {
        let err = parse(b"PK\x03\x04 not npy", Path::new("x.npz:train_images")).unwrap_err();
        assert!(err.to_string().contains("x.npz:train_images"), "{err}");
        let mut a = NpyArray::from_u8(vec![4], vec![1, 2, 3, 4]).to_npy_bytes();
        a.truncate(a.len() - 2);
        assert!(
            parse(&a, Path::new("t.npy"))
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
        let header = "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }\n";
        let mut c = b"\x93NUMPY\x01\x00".to_vec();
        c.extend_from_slice(&(header.len() as u16).to_le_bytes());
        c.extend_from_slice(header.as_bytes());
        c.extend_from_slice(&[0; 16]);
        assert!(
            parse(&c, Path::new("c.npy"))
                .unwrap_err()
                .to_string()
                .contains("unsupported dtype")
        );
    }
}
