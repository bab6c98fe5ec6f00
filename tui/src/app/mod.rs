//! The tutor: a ratatui app. `App` holds the state and handles keys; each screen draws itself
//! from that state in its own file. Training runs on a worker thread and reports over a channel
//! that the app drains between frames, so drawing never waits for training and training never
//! waits for drawing.

mod challenge;
mod data_choice;
mod experiment;
mod help;
mod home;
mod lesson;
mod notify;
mod quiz;
mod results;
mod runs;
mod samples;
mod scroll;
mod work;
mod your_data;

pub use challenge::ChallengeView;
pub use data_choice::{DataChoiceView, DataOption};
pub use experiment::{ExperimentView, Pane, augmentation_preview};
pub use lesson::LessonView;
pub use notify::{FetchProgress, Notification, Notifier};
pub use quiz::QuizView;
pub use runs::course_run;
pub use your_data::YourDataView;

use crate::content::Lesson;
use crate::jobs::Work;
use crate::progress::Progress;
use crate::text;
use crate::theme::Theme;
use anyhow::Result;
use petri_engine::experiment::Suite;
use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;
use std::path::PathBuf;
use std::time::Duration;

/// Smallest terminal the tutor draws in; below it a notice asks for more room.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

pub struct Options {
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
    pub ascii: bool,
    /// Capture the mouse (wheel scrolls); off by default so terminal selection keeps working.
    pub mouse: bool,
    /// The `petri` binary that background runs are started with (this one, normally).
    pub petri: PathBuf,
}

pub enum Screen {
    Lesson(LessonView),
    Quiz(QuizView),
    Experiment(Box<ExperimentView>),
    Challenges(Box<ChallengeView>),
    YourData(Box<YourDataView>),
    /// Which data a part's run uses (the lesson's `r`).
    DataChoice(DataChoiceView),
}

pub struct App {
    pub options: Options,
    pub theme: Theme,
    pub lessons: Vec<Lesson>,
    pub progress: Progress,
    pub progress_path: PathBuf,
    /// Screens opened from home; `Esc` closes the top one.
    pub stack: Vec<Screen>,
    pub selected: usize,
    pub show_help: bool,
    /// First line of the `?` help shown (it scrolls when the terminal is short).
    pub help_scroll: u16,
    pub status: Option<String>,
    pub quit: bool,
    /// What a download started with `f` on home is fetching, while it runs.
    pub fetch: Option<String>,
    /// Every background worker reports through a clone of this, to `inbox`.
    pub notifier: Notifier,
    inbox: std::sync::mpsc::Receiver<Notification>,
}

impl App {
    pub fn new(options: Options, lessons: Vec<Lesson>, theme: Theme) -> Self {
        let progress_path = crate::paths::progress_file(&options.state_dir);
        let (progress, status) = match Progress::load(&progress_path) {
            Ok(p) => (p, None),
            Err(e) => (Progress::default(), Some(format!("{e}"))),
        };
        let (notifier, inbox) = std::sync::mpsc::channel();
        let mut app = App {
            options,
            theme,
            lessons,
            progress,
            progress_path,
            stack: Vec::new(),
            selected: 0,
            show_help: false,
            help_scroll: 0,
            status,
            quit: false,
            fetch: None,
            notifier,
            inbox,
        };
        app.reattach_runs();
        app
    }

    /// Starts a part's run in the background and shows it; the data choice is remembered.
    fn start_run(&mut self, part: Suite, lesson_id: &str, data: Option<PathBuf>, resume: bool) {
        let chosen = data.as_ref().map(|d| d.display().to_string());
        self.update_progress(|p| p.part(lesson_id).data = chosen);
        let mut args = runs::course_run(part, data.as_deref());
        args.resume = resume;
        match runs::start(&self.options, lesson_id, Work::Run(args), &self.notifier) {
            Ok(v) => self.show_run(v),
            Err(e) => self.status = Some(format!("{e}")),
        }
    }

    /// Shows a run, with up to four earlier records of its part to compare against.
    fn show_run(&mut self, mut v: ExperimentView) {
        v.earlier = self
            .progress
            .parts
            .get(&v.lesson_id)
            .map(|p| {
                p.runs
                    .iter()
                    .rev()
                    .take(4)
                    .filter_map(|r| {
                        petri_engine::experiment::ExperimentRecord::load(std::path::Path::new(r))
                            .ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.stack.push(Screen::Experiment(Box::new(v)));
    }

    /// Reopens the runs that were started in an earlier session (and may still be training):
    /// each shows live, or with its results if it finished meanwhile. The newest is on top.
    pub fn reattach_runs(&mut self) {
        for job in crate::jobs::pending(&self.options.state_dir)
            .into_iter()
            .rev()
        {
            let view = runs::follow(job, &self.notifier);
            self.show_run(view);
        }
    }

    /// Applies a change to the saved progress (re-read under a lock, so another `petri` of the
    /// same student keeps its answers) and shows the result; a failure is shown, never fatal.
    pub fn update_progress(&mut self, change: impl FnOnce(&mut Progress)) {
        match Progress::update(&self.progress_path, change) {
            Ok(p) => self.progress = p,
            Err(e) => self.status = Some(format!("could not save progress: {e}")),
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) {
        if key.kind != KeyEventKind::Press {
            return;
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return;
        }
        if self.show_help {
            match key.code {
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter => {
                    self.show_help = false;
                    self.help_scroll = 0;
                }
                KeyCode::Down | KeyCode::Char('j') | KeyCode::PageDown => {
                    self.help_scroll = self.help_scroll.saturating_add(1)
                }
                KeyCode::Up | KeyCode::Char('k') | KeyCode::PageUp => {
                    self.help_scroll = self.help_scroll.saturating_sub(1)
                }
                _ => {}
            }
            return;
        }
        if key.code == KeyCode::Esc && !self.stack.is_empty() {
            self.close_top();
            return;
        }
        // Typing (a numeric answer, a path) must not trigger global keys.
        let typing = matches!(self.stack.last(), Some(Screen::Quiz(q)) if q.types(&key))
            || matches!(self.stack.last(), Some(Screen::YourData(_)))
            || matches!(self.stack.last(), Some(Screen::DataChoice(v)) if v.is_typing());
        if !typing {
            match key.code {
                KeyCode::Char('?') => {
                    self.show_help = true;
                    return;
                }
                KeyCode::Char('q') => {
                    self.quit = true;
                    return;
                }
                _ => {}
            }
        }
        match self.stack.pop() {
            None => home::on_key(self, key),
            Some(Screen::Lesson(mut v)) => {
                let next = v.on_key(key);
                self.stack.push(Screen::Lesson(v));
                self.open(next);
            }
            Some(Screen::Quiz(mut v)) => {
                let outcome = v.on_key(key, &mut self.progress, &self.progress_path);
                if let Err(e) = outcome {
                    self.status = Some(format!("could not save progress: {e}"));
                }
                self.stack.push(Screen::Quiz(v));
            }
            Some(Screen::Experiment(mut v)) => {
                if let Some(message) = v.on_key(key) {
                    self.status = Some(message);
                }
                // `n`: the same run over several seeds takes this view's place.
                match v.again.take() {
                    Some(args) => {
                        let id = v.lesson_id.clone();
                        match runs::start(&self.options, &id, Work::Run(args), &self.notifier) {
                            Ok(next) => self.show_run(next),
                            Err(e) => {
                                self.status = Some(format!("{e}"));
                                self.stack.push(Screen::Experiment(v));
                            }
                        }
                    }
                    None => self.stack.push(Screen::Experiment(v)),
                }
            }
            Some(Screen::Challenges(mut v)) => {
                if let Some((challenge, dir)) = v.on_key(key)
                    && let Err(e) = work::check(&self.options, challenge, dir, &self.notifier)
                {
                    v.check_failed(e);
                }
                self.stack.push(Screen::Challenges(v));
            }
            Some(Screen::DataChoice(mut v)) => match v.on_key(key) {
                Some(data_choice::Choice::Run { data, resume }) => {
                    let (part, id) = (v.part, v.lesson_id.clone());
                    let args = runs::course_run(part, data.as_deref());
                    match resume {
                        Some(r) => self.start_run(part, &id, data, r),
                        // An interrupted run on the same data: ask before starting afresh.
                        None => match crate::run_spec::interrupted(&args, &self.options.data_dir) {
                            Some(epochs) => {
                                v.ask_resume(data, epochs);
                                self.stack.push(Screen::DataChoice(v));
                            }
                            None => self.start_run(part, &id, data, false),
                        },
                    }
                }
                None => self.stack.push(Screen::DataChoice(v)),
            },
            Some(Screen::YourData(mut v)) => {
                let action = v.on_key(key);
                self.stack.push(Screen::YourData(v));
                match action {
                    Some(your_data::Action::Identify(path, target)) => {
                        work::identify(path, target, &self.notifier)
                    }
                    Some(your_data::Action::Train(path, plan)) => self.train_plan(path, *plan),
                    None => {}
                }
            }
        }
    }

    fn close_top(&mut self) {
        if let Some(Screen::Experiment(v)) = self.stack.last()
            && v.is_running()
        {
            self.status = Some("a run is in progress: press s to stop it first".into());
            return;
        }
        self.stack.pop();
    }

    /// Downloads what the selected part needs and is missing (its dataset; part 1's ImageNet
    /// weights too) on a thread (home's `f`).
    pub fn start_fetch(&mut self) {
        if self.fetch.is_some() {
            self.status = Some("a download is already running".into());
            return;
        }
        let Some(lesson) = self.lessons.get(self.selected) else {
            return;
        };
        let data_dir = self.options.data_dir.clone();
        let items = crate::course::part_items(&lesson.part);
        if items.is_empty() {
            self.status = Some("this part needs nothing to download".into());
            return;
        }
        let missing: Vec<_> = items
            .into_iter()
            .filter(|i| !i.status(&data_dir, false).is_usable())
            .collect();
        if missing.is_empty() {
            self.status = Some("everything this part needs is here: nothing to fetch".into());
            return;
        }
        let names: Vec<String> = missing.iter().map(|i| i.name()).collect();
        let notifier = self.notifier.clone();
        std::thread::spawn(move || {
            let send = |p| drop(notifier.send(Notification::Fetch(p)));
            let mut result = Ok(());
            for item in missing {
                let name = item.name();
                if let Err(e) = item.fetch(&data_dir, &mut |done, total| {
                    send(FetchProgress::Bytes(done, total));
                }) {
                    result = Err(format!("{name}: {e}"));
                    break;
                }
            }
            send(FetchProgress::Done(result));
        });
        let names = names.join(" and ");
        self.status = Some(format!("fetching {names}..."));
        self.fetch = Some(names);
    }

    /// Download progress, into the status line.
    fn on_fetch(&mut self, progress: FetchProgress) -> bool {
        let Some(name) = self.fetch.clone() else {
            return false;
        };
        match progress {
            FetchProgress::Bytes(done, Some(total)) if total > 0 => {
                self.status = Some(format!(
                    "fetching {name}: {}% ({:.1} of {:.1} MB)",
                    done * 100 / total,
                    done as f64 / 1e6,
                    total as f64 / 1e6
                ))
            }
            FetchProgress::Bytes(done, _) => {
                self.status = Some(format!("fetching {name}: {:.1} MB", done as f64 / 1e6))
            }
            FetchProgress::Done(Ok(())) => {
                self.status = Some(format!("{name} fetched and checked"));
                self.fetch = None;
            }
            FetchProgress::Done(Err(e)) => {
                self.status = Some(format!("could not fetch {name}: {e}"));
                self.fetch = None;
            }
        }
        true
    }

    /// Trains a plan from the "Your data" screen as a background job, shown like a course run.
    fn train_plan(&mut self, path: PathBuf, plan: petri_engine::identify::Plan) {
        match runs::train_plan(&self.options, &path, plan, &self.notifier) {
            Ok(v) => self.show_run(v),
            Err(e) => self.status = Some(format!("{e:#}")),
        }
    }

    /// Opens what a screen asked for (a lesson's `c` opens its check, `r` a run).
    pub fn open(&mut self, request: Option<Open>) {
        let Some(request) = request else { return };
        let lesson_idx = self.selected.min(self.lessons.len().saturating_sub(1));
        match request {
            Open::Lesson => {
                if let Some(l) = self.lessons.get(lesson_idx) {
                    let (id, view) = (l.part.id.clone(), LessonView::new(l.clone()));
                    self.update_progress(|p| p.part(&id).lesson_read = true);
                    self.stack.push(Screen::Lesson(view));
                }
            }
            Open::Quiz => {
                if let Some(l) = self.lessons.get(lesson_idx) {
                    if l.check.is_empty() {
                        self.status = Some("this lesson has no knowledge check".into());
                    } else {
                        let l = l.clone();
                        match self.progress.quiz_seed(&self.progress_path, &l.part.id) {
                            Ok(seed) => {
                                let saved = (self.progress.part(&l.part.id).quiz.as_ref())
                                    .map(|q| q.answers.clone())
                                    .unwrap_or_default();
                                self.stack
                                    .push(Screen::Quiz(QuizView::resume(l, seed, &saved)))
                            }
                            Err(e) => self.status = Some(format!("could not save progress: {e}")),
                        }
                    }
                }
            }
            Open::Experiment => {
                let Some(l) = self.lessons.get(lesson_idx) else {
                    return;
                };
                let Some(&part) = l.part.experiments.first() else {
                    self.status = Some("this part has no experiment to run".into());
                    return;
                };
                let id = l.part.id.clone();
                if part == Suite::Regression {
                    // Its data is embedded: nothing to choose.
                    self.start_run(part, &id, None, false);
                } else {
                    let remembered = self.progress.parts.get(&id).and_then(|p| p.data.clone());
                    self.stack
                        .push(Screen::DataChoice(data_choice::DataChoiceView::new(
                            part,
                            &id,
                            &self.options.data_dir,
                            remembered.as_deref(),
                        )));
                }
            }
            Open::YourData => self.stack.push(Screen::YourData(Box::default())),
            Open::Challenges => {
                let Some(l) = self.lessons.get(lesson_idx) else {
                    return;
                };
                let part = l.part.name.as_str();
                let root = crate::paths::challenges_dir();
                match petri_grader::challenge::load_all(&root) {
                    Ok(all) => {
                        let mine: Vec<_> = all.into_iter().filter(|c| c.part == part).collect();
                        if mine.is_empty() {
                            self.status = Some("this part has no challenges".into());
                        } else {
                            let view = ChallengeView::new(&l.part.id, mine, &self.options);
                            self.stack.push(Screen::Challenges(Box::new(view)));
                        }
                    }
                    Err(e) => self.status = Some(format!("challenges: {e}")),
                }
            }
        }
    }

    /// Drains background work (training events); returns whether anything changed.
    pub fn tick(&mut self) -> bool {
        let mut changed = false;
        while let Ok(n) = self.inbox.try_recv() {
            changed |= self.handle(n);
        }
        changed
    }

    /// Waits up to `timeout` for the next notification.
    pub fn next_notification(&self, timeout: Duration) -> Option<Notification> {
        self.inbox.recv_timeout(timeout).ok()
    }

    /// Gives a notification to what it concerns; returns whether the screen changed.
    pub fn handle(&mut self, n: Notification) -> bool {
        match n {
            Notification::Input(e) => self.on_input(e),
            Notification::Fetch(p) => self.on_fetch(p),
            Notification::Run { run, update } => {
                let mut finished = None;
                let mut changed = false;
                for screen in &mut self.stack {
                    if let Screen::Experiment(v) = screen
                        && v.id == run
                    {
                        changed = v.on_update(update);
                        finished = v.take_saved_record();
                        break;
                    }
                }
                if let Some((part, record)) = finished {
                    self.update_progress(|p| p.part(&part).runs.push(record));
                }
                changed
            }
            Notification::Identified(found) => self.stack.iter_mut().any(|s| match s {
                Screen::YourData(v) => v.on_identified((*found).clone()),
                _ => false,
            }),
            Notification::Checked(result) => {
                let mut passed = None;
                let mut changed = false;
                for screen in &mut self.stack {
                    if let Screen::Challenges(v) = screen
                        && v.is_checking()
                    {
                        passed = v.on_checked(*result).map(|id| (v.part_key.clone(), id));
                        changed = true;
                        break;
                    }
                }
                if let Some((part, id)) = passed {
                    self.update_progress(|p| {
                        p.part(&part).challenges_passed.insert(id);
                    });
                }
                changed
            }
        }
    }

    /// Something is under way whose screen shows time passing (a clock, a spinner).
    pub fn busy(&self) -> bool {
        self.fetch.is_some()
            || self.stack.iter().any(|s| match s {
                Screen::Experiment(v) => v.is_running(),
                Screen::Challenges(v) => v.is_checking(),
                Screen::YourData(v) => v.is_identifying(),
                _ => false,
            })
    }

    /// A terminal event: keys, the mouse wheel (scrolls like the arrow keys), a resize.
    fn on_input(&mut self, e: Event) -> bool {
        match e {
            Event::Key(key) => {
                self.status = None;
                self.on_key(key);
                true
            }
            Event::Resize(..) => true,
            Event::Mouse(m) => {
                use ratatui::crossterm::event::MouseEventKind;
                let code = match m.kind {
                    MouseEventKind::ScrollDown => KeyCode::Down,
                    MouseEventKind::ScrollUp => KeyCode::Up,
                    _ => return false,
                };
                self.on_key(KeyEvent::new(code, KeyModifiers::NONE));
                true
            }
            _ => false,
        }
    }

    pub fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let msg = format!(
                "Terminal too small: {}x{}.\nPetri needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\nEnlarge the window, or press q to quit.",
                area.width, area.height
            );
            frame.render_widget(
                Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }),
                area,
            );
            return;
        }
        match self.stack.last() {
            None => home::draw(self, frame, area),
            Some(Screen::Lesson(v)) => v.draw(frame, area, &self.theme),
            Some(Screen::Quiz(v)) => v.draw(frame, area, &self.theme),
            Some(Screen::Experiment(v)) => v.draw(frame, area, &self.theme),
            Some(Screen::YourData(v)) => v.draw(frame, area, &self.theme),
            Some(Screen::DataChoice(v)) => {
                // Over the part it runs for.
                home::draw(self, frame, area);
                v.draw(frame, area, &self.theme)
            }
            Some(Screen::Challenges(v)) => {
                let passed: Vec<String> = self
                    .progress
                    .parts
                    .get(&v.part_key)
                    .map(|p| p.challenges_passed.iter().cloned().collect())
                    .unwrap_or_default();
                v.draw(frame, area, &self.theme, &passed)
            }
        }
        if let Some(status) = &self.status {
            // As many rows as the message needs (up to a third of the screen), broken between
            // words: an error is read whole, never cut mid-word.
            let rows = text::wrap_words(status, area.width as usize);
            let height = (rows.len() as u16).clamp(1, (area.height / 3).max(1));
            let bottom = Rect {
                y: area.bottom() - height,
                height,
                ..area
            };
            frame.render_widget(ratatui::widgets::Clear, bottom);
            frame.render_widget(
                Paragraph::new(rows.join("\n")).style(self.theme.warning),
                bottom,
            );
        }
        if self.show_help {
            help::draw(frame, area, &self.theme, self.help_scroll);
        }
        if self.theme.ascii {
            crate::theme::asciify(frame.buffer_mut());
        }
    }
}

/// What a screen asks the app to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    Lesson,
    Quiz,
    Experiment,
    Challenges,
    YourData,
}

/// Opens the tutor until the user quits. The terminal is restored on exit and on panic
/// (ratatui's `init` installs that hook); progress is saved after every change, so a dropped
/// SSH connection (SIGHUP) loses nothing that was answered or finished.
pub fn run(options: Options, lessons: Vec<Lesson>) -> Result<()> {
    let theme = Theme::from_env(options.ascii);
    let mut terminal = ratatui::init();
    let mouse = options.mouse;
    if mouse {
        ratatui::crossterm::execute!(
            std::io::stdout(),
            ratatui::crossterm::event::EnableMouseCapture
        )?;
    }
    let mut app = App::new(options, lessons, theme);
    let result = (|| -> Result<()> {
        // Terminal input is one more notification: the loop below waits on one channel.
        let input = app.notifier.clone();
        std::thread::Builder::new()
            .name("petri-input".into())
            .spawn(move || {
                while let Ok(e) = event::read() {
                    if input.send(Notification::Input(e)).is_err() {
                        return;
                    }
                }
            })?;
        let mut dirty = true;
        while !app.quit {
            if dirty {
                terminal.draw(|f| app.draw(f))?;
            }
            // Clocks on screen move once a second while something runs; otherwise the loop
            // sleeps until a key or a worker's report arrives.
            dirty = match app.next_notification(Duration::from_secs(1)) {
                Some(n) => app.handle(n) | app.tick(),
                None => app.busy(),
            };
        }
        Ok(())
    })();
    if mouse {
        let _ = ratatui::crossterm::execute!(
            std::io::stdout(),
            ratatui::crossterm::event::DisableMouseCapture
        );
    }
    ratatui::restore();
    result
}
