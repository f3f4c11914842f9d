//! `LifecycleMachine`: the sans-IO machine, with actions crossing as template indexes when they can.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::machine::{self, Event, MachineOptions};

use super::convert::{options_from_js, string_arg, stringify, value_to_js};
use super::decoding::decode_utf8;
use super::errors::{JsResult, js_error};
use super::json_stringify;

/// The sans-IO session machine: `handle`, drain `pollAction`, arm a timer at `pollTimeout`.
#[wasm_bindgen(js_name = LifecycleMachine)]
pub struct JsLifecycleMachine {
    inner: machine::LifecycleMachine,
    /// An action taken by `__pollActionIndex` that carries free text, until `__takeAction`.
    parked: Option<machine::Action>,
}

/// What `__pollActionIndex` returns when no action is pending.
pub(super) const NO_ACTION: i32 = -1;
/// What `__pollActionIndex` returns when the action is parked for `__takeAction`.
pub(super) const PARKED_ACTION: i32 = -2;
/// Distinct text-free actions are few (ops, statuses, verdicts, reasons); past this many the
/// table stops growing and actions cross as objects.
pub(super) const MAX_ACTION_TEMPLATES: usize = 128;

thread_local! {
    /// Every text-free action seen, by index: `bindings.js` keeps the matching objects, so such
    /// an action crosses as a number instead of JSON text (a TextDecoder call and a `JSON.parse`
    /// each). Per instance: a reset instance starts empty, and so does the JS side.
    static ACTION_TEMPLATES: RefCell<Vec<machine::Action>> = const { RefCell::new(Vec::new()) };
}

/// Actions whose fields are all from small fixed sets. Exhaustive on purpose: a new action
/// variant must decide whether it may be shared as a template.
pub(super) fn is_text_free(action: &machine::Action) -> bool {
    use machine::Action;
    match action {
        Action::Call { .. }
        | Action::Ui { .. }
        | Action::ClearIdentity
        | Action::NotifyAdmin { .. }
        | Action::Persist => true,
        Action::Identity { me, .. } => me.is_none(),
        Action::ReleaseSend { .. }
        | Action::RejectSend { .. }
        | Action::ResolveSend { .. }
        | Action::HoldSend { .. } => false,
    }
}

/// The template index of a text-free action (registering it on first sight), if the table has room.
pub(super) fn action_template_index(action: machine::Action) -> Result<i32, machine::Action> {
    ACTION_TEMPLATES.with(|cell| {
        let Ok(mut templates) = cell.try_borrow_mut() else {
            return Err(action);
        };
        let index = match templates.iter().position(|t| *t == action) {
            Some(index) => index,
            None if templates.len() < MAX_ACTION_TEMPLATES => {
                templates.push(action);
                templates.len() - 1
            }
            None => return Err(action),
        };
        // The table is bounded far below i32::MAX.
        Ok(i32::try_from(index).unwrap_or(NO_ACTION))
    })
}

/// `__actionTemplate(index)`: the action object of a template `__pollActionIndex` returned
/// (`undefined` for no such template). Through the same serializer as every other action: JSON
/// text here linked a second copy of `Action`'s serializer (2 KB of wasm), and `bindings.js`
/// fetches each template once per instance.
#[wasm_bindgen(js_name = __actionTemplate)]
pub fn action_template(index: u32) -> JsValue {
    ACTION_TEMPLATES.with(|cell| {
        let Ok(templates) = cell.try_borrow() else {
            return JsValue::UNDEFINED;
        };
        usize::try_from(index)
            .ok()
            .and_then(|i| templates.get(i))
            .map_or(JsValue::UNDEFINED, value_to_js)
    })
}

#[wasm_bindgen(js_class = LifecycleMachine)]
impl JsLifecycleMachine {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "MachineOptions")] opts: JsValue,
    ) -> JsResult<JsLifecycleMachine> {
        let opts = options_from_js(&opts)
            .and_then(|v| MachineOptions::from_value(&v))
            .map_err(js_error)?;
        Ok(JsLifecycleMachine {
            inner: machine::LifecycleMachine::new(opts),
            parked: None,
        })
    }

    /// Feeds one event; drain `pollAction()` afterwards.
    pub fn handle(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "MachineEvent")] event: JsValue,
        now_ms: f64,
    ) -> JsResult<()> {
        let event = stringify(&event)
            .and_then(|text| Event::from_json(&text))
            .map_err(js_error)?;
        self.inner.handle(event, now_ms);
        Ok(())
    }

    /// `handle({type: "status", input: text}, nowMs)` with the text as UTF-8 bytes
    /// (`TextEncoder`): no event JSON, no escaped copy of the body inside it, and a byte copy
    /// instead of the glue's per-character string transfer. `bindings.js` routes such events here.
    #[wasm_bindgen(js_name = __handleStatusUtf8)]
    pub fn handle_status_utf8(&mut self, utf8: &[u8], now_ms: f64) -> JsResult<()> {
        let report = decode_utf8(utf8).map_err(js_error)?;
        self.inner.handle(Event::Status(Box::new(report)), now_ms);
        Ok(())
    }

    /// `handle({type: "timeout"}, nowMs)` for `bindings.js`: the host loop's most frequent event
    /// after statuses, without JSON text.
    #[wasm_bindgen(js_name = __handleTimeout)]
    pub fn handle_timeout(&mut self, now_ms: f64) {
        self.inner.handle(Event::Timeout, now_ms);
    }

    /// The next action for the host, or `undefined` when there is none.
    #[wasm_bindgen(js_name = pollAction, unchecked_return_type = "Action | undefined")]
    pub fn poll_action(&mut self) -> JsValue {
        self.parked
            .take()
            .or_else(|| self.inner.poll_action())
            .map_or(JsValue::UNDEFINED, |action| value_to_js(&action))
    }

    /// `pollAction` for `bindings.js`, without strings: the index of a text-free action's
    /// template (`__actionTemplate`), `-1` when nothing is pending, or `-2` when the action is
    /// parked for `__takeAction` (it carries an id or a JID).
    #[wasm_bindgen(js_name = __pollActionIndex)]
    pub fn poll_action_index(&mut self) -> i32 {
        let Some(action) = self.parked.take().or_else(|| self.inner.poll_action()) else {
            return NO_ACTION;
        };
        let templated = if is_text_free(&action) {
            action_template_index(action)
        } else {
            Err(action)
        };
        templated.unwrap_or_else(|action| {
            self.parked = Some(action);
            PARKED_ACTION
        })
    }

    /// The action `__pollActionIndex` parked, as an object (`undefined` if none is parked).
    #[wasm_bindgen(js_name = __takeAction, unchecked_return_type = "Action | undefined")]
    pub fn take_action(&mut self) -> JsValue {
        self.parked
            .take()
            .map_or(JsValue::UNDEFINED, |action| value_to_js(&action))
    }

    /// Every pending action at once (one boundary crossing instead of one per action).
    #[wasm_bindgen(js_name = drainActions, unchecked_return_type = "Action[]")]
    pub fn drain_actions(&mut self) -> JsValue {
        let mut actions: Vec<machine::Action> = self.parked.take().into_iter().collect();
        while let Some(action) = self.inner.poll_action() {
            actions.push(action);
        }
        value_to_js(&actions)
    }

    /// Absolute ms of the next deadline; call `handle({type:"timeout"}, now)` when it passes.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.poll_timeout()
    }

    #[wasm_bindgen(unchecked_return_type = "MachineSnapshot")]
    pub fn snapshot(&self) -> JsValue {
        value_to_js(&self.inner.snapshot())
    }

    /// The machine's state as JSON text, for `LifecycleMachine.fromJSON`: the derived
    /// `Serialize` as a JS object, written by `JSON.stringify` (integers without a fraction, as
    /// stored snapshots have always been; serde_json's writer would link a float printer).
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> String {
        json_stringify(&value_to_js(&self.inner))
            .ok()
            .and_then(|text| text.as_string())
            .unwrap_or_default()
    }

    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "string")] json: JsValue,
    ) -> JsResult<JsLifecycleMachine> {
        let json = string_arg(&json, "json")?;
        let inner = machine::LifecycleMachine::from_json(&json).map_err(js_error)?;
        Ok(JsLifecycleMachine {
            inner,
            parked: None,
        })
    }

    #[wasm_bindgen(getter, unchecked_return_type = "SessionStatus")]
    pub fn status(&self) -> String {
        self.inner.status().as_str().to_string()
    }

    /// Sends waiting for WORKING.
    #[wasm_bindgen(getter, js_name = queuedSends)]
    pub fn queued_sends(&self) -> u32 {
        u32::try_from(self.inner.queued_sends()).unwrap_or(u32::MAX)
    }
}
