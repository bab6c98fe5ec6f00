//! The tutor: a ratatui app. `App` holds state and handles keys; each screen draws itself from
//! that state in its own file. Nothing here blocks on training or downloads.

mod home;

use anyhow::Result;
use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::path::PathBuf;
use std::time::Duration;

pub struct Options {
    pub data_dir: PathBuf,
    pub ascii: bool,
}

/// Everything the screens draw from.
pub struct App {
    pub options: Options,
    pub selected: usize,
    pub quit: bool,
}

impl App {
    pub fn new(options: Options) -> Self {
        App {
            options,
            selected: 0,
            quit: false,
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) {
        if key.kind != KeyEventKind::Press {
            return;
        }
        let parts = crate::course::PARTS.len();
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => self.quit = true,
            KeyCode::Down | KeyCode::Char('j') => self.selected = (self.selected + 1) % parts,
            KeyCode::Up | KeyCode::Char('k') => self.selected = (self.selected + parts - 1) % parts,
            _ => {}
        }
    }

    pub fn draw(&self, frame: &mut Frame) {
        home::draw(self, frame);
    }
}

/// Opens the tutor in the terminal until the user quits. The terminal is restored on exit and
/// on panic (ratatui's `init` installs that hook).
pub fn run(options: Options) -> Result<()> {
    let mut terminal = ratatui::init();
    let mut app = App::new(options);
    let result = (|| -> Result<()> {
        while !app.quit {
            terminal.draw(|f| app.draw(f))?;
            if event::poll(Duration::from_millis(250))?
                && let Event::Key(key) = event::read()?
            {
                app.on_key(key);
            }
        }
        Ok(())
    })();
    ratatui::restore();
    result
}
