//! The benchmark's rows: the course's two image networks at the shapes students train them on.
//! The list lives in `bench/rows.txt`, which `bench/pytorch.py` reads too, so the two sides
//! always time the same shapes and their rows pair up by name.

/// Which network a row times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// ResNet-18, torchvision topology (7x7 stride-2 stem and max-pool), 9 classes.
    ResNet18,
    /// U-Net, 4 levels, bilinear upsampling, batch norm, 4 classes; the base channel count.
    UNet { base: usize },
}

/// One network at one input shape and batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub net: Net,
    pub channels: usize,
    pub size: usize,
    pub batch: usize,
}

impl Row {
    /// The row's name, as the PyTorch script prints it too: `resnet18 3x28x28 b64`.
    pub fn name(&self) -> String {
        let net = match self.net {
            Net::ResNet18 => "resnet18".to_string(),
            Net::UNet { base } => format!("unet{base}"),
        };
        format!(
            "{net} {}x{}x{} b{}",
            self.channels, self.size, self.size, self.batch
        )
    }

    /// Classes of the head: PathMNIST's 9 for ResNet-18, the skin set's 4 tissues for U-Net.
    pub fn classes(&self) -> usize {
        match self.net {
            Net::ResNet18 => 9,
            Net::UNet { .. } => 4,
        }
    }
}

const ROWS: &str = include_str!("../rows.txt");

/// Every row, in the order the table prints them.
pub fn all() -> Vec<Row> {
    ROWS.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| parse(l).unwrap_or_else(|| panic!("bench/rows.txt: bad row '{l}'")))
        .collect()
}

fn parse(line: &str) -> Option<Row> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let [net, channels, size, batch] = f.as_slice() else {
        return None;
    };
    let net = match *net {
        "resnet18" => Net::ResNet18,
        other => Net::UNet {
            base: other.strip_prefix("unet")?.parse().ok()?,
        },
    };
    Some(Row {
        net,
        channels: channels.parse().ok()?,
        size: size.parse().ok()?,
        batch: batch.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_file_lists_the_issue_shapes() {
        let names: Vec<String> = all().iter().map(Row::name).collect();
        assert_eq!(
            names,
            [
                "resnet18 3x28x28 b64",
                "resnet18 3x28x28 b128",
                "resnet18 1x28x28 b64",
                "unet16 1x64x64 b16",
                "unet16 1x128x128 b16",
                "unet64 1x64x64 b16",
                "unet64 1x128x128 b16",
            ]
        );
        assert_eq!(parse("unetx 1 2 3"), None);
        assert_eq!(parse("resnet18 3 28"), None);
    }
}
