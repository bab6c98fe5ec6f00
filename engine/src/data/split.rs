//! Seeded splits, normalisation and batching. Splits are disjoint by construction, and when
//! samples come in groups (tiles of one image) a group never spans two splits.

use super::image::Image;
use crate::rng::Rng;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// Splits `0..n` into parts of the given fractions (which must sum to 1), shuffled with `seed`.
/// Rounding goes to the last part, so every index lands in exactly one part.
pub fn random_split(n: usize, fractions: &[f64], seed: u64) -> Result<Vec<Vec<usize>>> {
    check_fractions(fractions)?;
    let order = Rng::derive(seed, "split").permutation(n);
    Ok(cut(&order, fractions))
}

/// Splits samples by group (`groups[i]` is sample `i`'s group, e.g. its source image): groups are
/// shuffled and divided by the fractions, then each sample follows its group.
pub fn group_split(groups: &[usize], fractions: &[f64], seed: u64) -> Result<Vec<Vec<usize>>> {
    check_fractions(fractions)?;
    let mut ids: Vec<usize> = groups.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() < fractions.len() {
        return Err(Error::invalid(format!(
            "{} source images cannot be split {} ways without sharing an image between splits; add images",
            ids.len(),
            fractions.len()
        )));
    }
    Rng::derive(seed, "group-split").shuffle(&mut ids);
    let parts = cut(&ids, fractions);
    let part_of = |g: usize| parts.iter().position(|p| p.contains(&g)).unwrap();
    let mut out = vec![Vec::new(); fractions.len()];
    for (i, &g) in groups.iter().enumerate() {
        out[part_of(g)].push(i);
    }
    Ok(out)
}

fn check_fractions(fractions: &[f64]) -> Result<()> {
    let sum: f64 = fractions.iter().sum();
    if fractions.is_empty()
        || fractions.iter().any(|f| !(0.0..=1.0).contains(f))
        || (sum - 1.0).abs() > 1e-6
    {
        return Err(Error::invalid(format!(
            "split fractions {fractions:?} must be between 0 and 1 and add up to 1"
        )));
    }
    Ok(())
}

fn cut(order: &[usize], fractions: &[f64]) -> Vec<Vec<usize>> {
    let n = order.len();
    let mut out = Vec::with_capacity(fractions.len());
    let mut start = 0;
    let mut acc = 0.0;
    for (k, f) in fractions.iter().enumerate() {
        acc += f;
        let end = if k + 1 == fractions.len() {
            n
        } else {
            ((acc * n as f64).round() as usize).min(n)
        };
        out.push(order[start..end.max(start)].to_vec());
        start = end.max(start);
    }
    out
}

/// Per-channel normalisation `(x - mean) / std`, recorded with a run so it can be replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Normalization {
    /// The same mean and std for every channel (the course uses 0.5 / 0.5).
    pub fn uniform(channels: usize, mean: f32, std: f32) -> Self {
        Normalization {
            mean: vec![mean; channels],
            std: vec![std; channels],
        }
    }

    /// Mean and std per channel, measured on the given images (the training split only).
    pub fn fit<'a>(images: impl IntoIterator<Item = &'a Image>) -> Result<Self> {
        let mut sum: Vec<f64> = Vec::new();
        let mut sq: Vec<f64> = Vec::new();
        let mut count = 0usize;
        for img in images {
            if sum.is_empty() {
                sum = vec![0.0; img.channels];
                sq = vec![0.0; img.channels];
            }
            for c in 0..img.channels {
                for &v in img.plane(c) {
                    sum[c] += v as f64;
                    sq[c] += (v as f64) * (v as f64);
                }
            }
            count += img.height * img.width;
        }
        if count == 0 {
            return Err(Error::invalid("cannot fit a normalisation on no images"));
        }
        let n = count as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std = sq
            .iter()
            .zip(&sum)
            .map(|(q, s)| ((q / n - (s / n).powi(2)).max(0.0).sqrt().max(1e-6)) as f32)
            .collect();
        Ok(Normalization { mean, std })
    }

    pub fn apply(&self, img: &mut Image) {
        let plane = img.height * img.width;
        for c in 0..img.channels {
            let (m, s) = (
                self.mean[c.min(self.mean.len() - 1)],
                self.std[c.min(self.std.len() - 1)],
            );
            for v in &mut img.data[c * plane..(c + 1) * plane] {
                *v = (*v - m) / s;
            }
        }
    }
}

/// The batches of one epoch: indices `0..n` in order, or shuffled by `(seed, epoch)` so that each
/// epoch differs and any epoch can be replayed.
pub fn batches(n: usize, batch_size: usize, shuffle: Option<(u64, usize)>) -> Vec<Vec<usize>> {
    let order = match shuffle {
        Some((seed, epoch)) => Rng::derive(seed, &format!("epoch-{epoch}")).permutation(n),
        None => (0..n).collect(),
    };
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_disjoint_complete_and_seeded() {
        let parts = random_split(101, &[0.7, 0.15, 0.15], 3).unwrap();
        let mut all: Vec<usize> = parts.concat();
        all.sort_unstable();
        assert_eq!(all, (0..101).collect::<Vec<_>>());
        assert_eq!(parts[0].len(), 71);
        assert_eq!(parts, random_split(101, &[0.7, 0.15, 0.15], 3).unwrap());
        assert_ne!(parts, random_split(101, &[0.7, 0.15, 0.15], 4).unwrap());
        assert!(random_split(10, &[0.5, 0.6], 0).is_err());
    }

    #[test]
    fn group_split_never_puts_one_group_in_two_parts() {
        let groups: Vec<usize> = (0..60).map(|i| i / 4).collect(); // 15 images, 4 tiles each
        let parts = group_split(&groups, &[0.6, 0.2, 0.2], 9).unwrap();
        for (a, pa) in parts.iter().enumerate() {
            for pb in &parts[a + 1..] {
                assert!(
                    pa.iter()
                        .all(|i| pb.iter().all(|j| groups[*i] != groups[*j]))
                );
            }
        }
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 60);
        assert!(group_split(&[0, 0, 1], &[0.4, 0.3, 0.3], 0).is_err());
    }

    #[test]
    fn normalisation_fit_centres_and_batches_cover_each_epoch() {
        let imgs = [
            Image::new(1, 1, 2, vec![0.0, 1.0]),
            Image::new(1, 1, 2, vec![1.0, 0.0]),
        ];
        let norm = Normalization::fit(&imgs).unwrap();
        assert!((norm.mean[0] - 0.5).abs() < 1e-6 && (norm.std[0] - 0.5).abs() < 1e-6);
        let mut img = imgs[0].clone();
        norm.apply(&mut img);
        assert_eq!(img.data, vec![-1.0, 1.0]);

        let b1 = batches(10, 4, Some((1, 1)));
        assert_eq!(b1.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
        assert_ne!(b1, batches(10, 4, Some((1, 2))));
        assert_eq!(b1, batches(10, 4, Some((1, 1))));
    }
}
