//! Test images drawn in the terminal with their true and predicted labels (classification) or
//! as input / ground truth / prediction with a class legend (segmentation). Two pixels per
//! cell with the upper-half block; character shades without colour or with `--ascii`.

use crate::theme::Theme;
use petri_engine::train::Sample;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

const SHADES: &[u8] = b" .:-=+*#%@";

/// Class colours for masks (and their legend).
const CLASS_COLORS: [(u8, u8, u8); 6] = [
    (40, 40, 40),
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (204, 121, 167),
];

/// A picture as RGB pixels, `w` x `h`.
struct Picture {
    w: usize,
    h: usize,
    rgb: Vec<(u8, u8, u8)>,
}

fn image_picture(s: &Sample) -> Picture {
    let rgb = (0..s.height * s.width)
        .map(|i| {
            let p = &s.pixels[i * s.channels..(i + 1) * s.channels];
            if s.channels >= 3 {
                (p[0], p[1], p[2])
            } else {
                (p[0], p[0], p[0])
            }
        })
        .collect();
    Picture {
        w: s.width,
        h: s.height,
        rgb,
    }
}

fn mask_picture(s: &Sample, mask: &[u8]) -> Picture {
    let rgb = mask
        .iter()
        .map(|&c| CLASS_COLORS[c as usize % CLASS_COLORS.len()])
        .collect();
    Picture {
        w: s.width,
        h: s.height,
        rgb,
    }
}

/// Lines of `cols` cells and `rows` cells (2 pixels each) showing `p` scaled to fit.
fn render(p: &Picture, cols: usize, rows: usize, theme: &Theme) -> Vec<Line<'static>> {
    let at = |x: usize, y: usize| {
        let sx = (x * p.w / cols.max(1)).min(p.w.saturating_sub(1));
        let sy = (y * p.h / (rows * 2).max(1)).min(p.h.saturating_sub(1));
        p.rgb[sy * p.w + sx]
    };
    (0..rows)
        .map(|r| {
            let spans: Vec<Span> = (0..cols)
                .map(|c| {
                    let (top, bottom) = (at(c, 2 * r), at(c, 2 * r + 1));
                    if theme.color && !theme.ascii {
                        Span::styled(
                            "▀",
                            Style::new()
                                .fg(Color::Rgb(top.0, top.1, top.2))
                                .bg(Color::Rgb(bottom.0, bottom.1, bottom.2)),
                        )
                    } else {
                        let lum =
                            |p: (u8, u8, u8)| (p.0 as usize + p.1 as usize + p.2 as usize) / 3;
                        let v = (lum(top) + lum(bottom)) / 2;
                        let ch = SHADES[v * (SHADES.len() - 1) / 255] as char;
                        Span::raw(ch.to_string())
                    }
                })
                .collect();
            Line::from(spans)
        })
        .collect()
}

/// Draws the samples into `area` (a bordered box), as many as fit.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    samples: &[Sample],
    class_names: &[String],
    theme: &Theme,
) {
    let preview = samples
        .first()
        .is_some_and(|s| s.predicted.is_empty() && s.truth_mask.is_none());
    let block = Block::bordered().title(if preview {
        " Transforms (before training) "
    } else {
        " Test samples "
    });
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if samples.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "Samples appear when the run finishes.",
                theme.dim,
            )),
            inner,
        );
        return;
    }
    let segmentation = samples[0].truth_mask.is_some();
    let grid = Grid::new(inner, samples, segmentation);
    let mut cursor = Cursor::new(inner, grid);
    for s in samples {
        if segmentation {
            for tile in segmentation_tiles(s, &grid, theme) {
                cursor.place(frame, tile);
            }
        } else {
            cursor.place(frame, classification_tile(s, &grid, theme));
        }
    }
    if segmentation {
        draw_legend(frame, inner, class_names, theme);
    }
}

/// The size of every tile in a box: a picture and its label lines.
#[derive(Clone, Copy)]
struct Grid {
    /// The picture's size in cells (two pixels per cell vertically).
    cols: usize,
    rows: usize,
    /// Label lines: two under a classification picture, a title over a segmentation one.
    label_rows: usize,
    /// The tile's width: its picture's or its captions', whichever is wider.
    text_w: usize,
}

impl Grid {
    fn new(inner: Rect, samples: &[Sample], segmentation: bool) -> Grid {
        // Room per tile: picture plus two label lines (classification) or one title line.
        let label_rows = if segmentation { 1 } else { 2 };
        let rows = (inner.height as usize)
            .saturating_sub(label_rows)
            .clamp(2, 7);
        let cols = (rows * 2).min(inner.width as usize);
        // A tile is as wide as its picture or its captions ("true adipose"), up to 30 columns;
        // longer class names are shortened with an ellipsis, never cut silently.
        let caption_w = samples
            .iter()
            // Previews wrap their caption onto the two label rows instead.
            .filter(|s| !segmentation && !s.predicted.is_empty())
            // "true " / "pred " before the names
            .map(|s| 5 + s.truth.chars().count().max(s.predicted.chars().count()))
            .max()
            .unwrap_or(0);
        let text_w = caption_w
            .clamp(cols, 30.max(cols))
            .min(inner.width as usize);
        Grid {
            cols,
            rows,
            label_rows,
            text_w,
        }
    }

    fn tile_h(&self) -> u16 {
        (self.rows + self.label_rows) as u16
    }
}

/// Where the next tile goes: left to right, then the next row, until the box is full.
struct Cursor {
    inner: Rect,
    grid: Grid,
    x: u16,
    y: u16,
}

impl Cursor {
    fn new(inner: Rect, grid: Grid) -> Cursor {
        Cursor {
            inner,
            grid,
            x: inner.x,
            y: inner.y,
        }
    }

    /// Draws a tile's `lines` at the next place, or nothing when the box is full.
    fn place(&mut self, frame: &mut Frame, lines: Vec<Line<'static>>) {
        let (width, height) = (self.grid.text_w as u16, self.grid.tile_h());
        if self.x + width > self.inner.right() {
            self.x = self.inner.x;
            self.y += height;
        }
        if self.y + height > self.inner.bottom() {
            return;
        }
        let r = Rect {
            x: self.x,
            y: self.y,
            width,
            height,
        };
        frame.render_widget(Paragraph::new(lines), r);
        // A column between tiles.
        self.x += width + 1;
    }
}

/// A segmentation sample's tiles: input, true mask and predicted mask, each under its title
/// (a mask that does not fit the image is left out).
fn segmentation_tiles(s: &Sample, grid: &Grid, theme: &Theme) -> Vec<Vec<Line<'static>>> {
    let pics = [
        ("input", image_picture(s)),
        (
            "truth",
            mask_picture(s, s.truth_mask.as_deref().unwrap_or(&[])),
        ),
        (
            "predicted",
            mask_picture(s, s.predicted_mask.as_deref().unwrap_or(&[])),
        ),
    ];
    pics.into_iter()
        .filter(|(_, pic)| pic.rgb.len() == pic.w * pic.h)
        .map(|(title, pic)| {
            let mut lines = vec![Line::styled(title.to_string(), theme.dim)];
            lines.extend(render(&pic, grid.cols, grid.rows, theme));
            lines
        })
        .collect()
}

/// A classification sample's tile: the picture with its true and predicted class (green when
/// right, red when wrong), or, for a preview before training, what was done to the image.
fn classification_tile(s: &Sample, grid: &Grid, theme: &Theme) -> Vec<Line<'static>> {
    let cut = |t: &str| crate::text::fit(t, grid.text_w, theme.ascii);
    let mut lines = render(&image_picture(s), grid.cols, grid.rows, theme);
    if s.predicted.is_empty() {
        // A preview: the caption names what was done to the image, on two rows.
        let mut caption = crate::text::wrap_words(&s.truth, grid.text_w).into_iter();
        let first = caption.next().unwrap_or_default();
        let rest: Vec<String> = caption.collect();
        lines.push(Line::styled(first, theme.dim));
        lines.push(Line::styled(cut(&rest.join(" ")), theme.dim));
    } else {
        let right = s.truth == s.predicted;
        lines.push(Line::styled(cut(&format!("true {}", s.truth)), theme.dim));
        lines.push(Line::styled(
            cut(&format!("pred {}", s.predicted)),
            if right { theme.good } else { theme.bad },
        ));
    }
    lines
}

/// The mask classes' colours and names, on the last line of the box.
fn draw_legend(frame: &mut Frame, inner: Rect, class_names: &[String], theme: &Theme) {
    let spans: Vec<Span> = class_names
        .iter()
        .enumerate()
        .flat_map(|(k, n)| {
            let (r, g, b) = CLASS_COLORS[k % CLASS_COLORS.len()];
            let swatch = if theme.color && !theme.ascii {
                Span::styled("██", Style::new().fg(Color::Rgb(r, g, b)))
            } else {
                Span::raw(format!(
                    "{}=",
                    SHADES[((r as usize + g as usize + b as usize) / 3) * 9 / 255] as char
                ))
            };
            [swatch, Span::raw(format!(" {n}  "))]
        })
        .collect();
    let legend = Rect {
        y: inner.bottom().saturating_sub(1),
        height: 1,
        ..inner
    };
    frame.render_widget(Paragraph::new(Line::from(spans)), legend);
}
