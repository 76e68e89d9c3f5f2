// The labeling page of `custom-labels label`: plain browser JavaScript, no framework, no build step.
// The server (lib/label/server.ts) owns the manifest; this page keeps a copy of the session, edits it, and sends the
// changed images to POST /api/save (debounced). A save made on an older revision gets 409: the page stops editing
// and says so, so that a second tab can never overwrite newer work.
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var S = {
    revision: 0, mode: 'label', labels: [], images: [], order: [], pos: 0,
    selected: -1, zoom: 1, boxLabel: '', minBoxSide: 2,
    dirty: new Set(), newLabels: [], saving: false, again: false, stale: false, timer: 0, current: {}, restoringFocus: false,
  };

  // ---------------------------------------------------------------------------------------------------------------
  // Loading and saving

  function load() {
    fetch('/api/session', { headers: { Accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (s) {
        S.revision = s.revision;
        S.mode = s.mode;
        S.labels = s.labels;
        S.images = s.images;
        S.order = s.order;
        S.minBoxSide = s.minBoxSide || 2;
        S.boxLabel = S.labels[0] || '';
        $('manifest-name').textContent = s.manifest;
        $('source-ref-pattern').textContent = s.sourceRefPattern;
        $('title').textContent = S.mode === 'review' ? 'Review predictions' : 'Label images';
        $('review').hidden = S.mode !== 'review';
        var start = Number((location.hash.match(/^#image=(\d+)$/) || [])[1]);
        var at = S.order.indexOf(start);
        S.pos = at >= 0 ? at : 0;
        setStatus('All changes saved');
        show();
      })
      .catch(function (e) { setStatus('Could not load the session: ' + e.message, true); });
  }

  function image() { return S.images[S.order[S.pos]]; }

  function markDirty(img) {
    S.dirty.add(img.id);
    setStatus('Unsaved changes');
    clearTimeout(S.timer);
    S.timer = setTimeout(save, 300);
  }

  function changeOf(id) {
    var img = S.images[id];
    var decisions = {};
    img.predictions.forEach(function (p) { decisions[p.id] = p.decision; });
    return {
      id: id,
      labels: img.labels.slice(),
      boxes: img.boxes.map(function (b) { return { label: b.label, left: b.left, top: b.top, width: b.width, height: b.height }; }),
      decisions: decisions,
    };
  }

  function save() {
    clearTimeout(S.timer);
    if (S.stale) return Promise.resolve();
    if (S.saving) { S.again = true; return Promise.resolve(); }
    if (S.dirty.size === 0 && S.newLabels.length === 0) return Promise.resolve();
    var ids = Array.from(S.dirty);
    var labels = S.newLabels.slice();
    S.dirty.clear();
    S.newLabels = [];
    S.saving = true;
    setStatus('Saving…');
    return fetch('/api/save', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ revision: S.revision, changes: ids.map(changeOf), labels: labels }),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (r.status === 409) return goStale(body.error);
        if (!r.ok) {
          ids.forEach(function (id) { S.dirty.add(id); });
          setStatus('Not saved: ' + (body.error || 'HTTP ' + r.status), true);
          return undefined;
        }
        S.revision = body.revision;
        body.images.forEach(function (v) { S.images[v.id].labeled = v.labeled; });
        setStatus(S.dirty.size ? 'Unsaved changes' : 'All changes saved');
        renderProgress();
        return undefined;
      });
    }, function (e) {
      ids.forEach(function (id) { S.dirty.add(id); });
      S.newLabels = labels.concat(S.newLabels);
      setStatus('Not saved (' + e.message + '); trying again', true);
      S.timer = setTimeout(save, 2000);
    }).then(function () {
      S.saving = false;
      if (S.again || S.dirty.size) { S.again = false; if (!S.stale && S.dirty.size) S.timer = setTimeout(save, 300); }
    });
  }

  function goStale(message) {
    S.stale = true;
    clearTimeout(S.timer);
    $('alert-text').textContent = 'Not saved: ' + (message || 'newer work was saved elsewhere')
      + '. This page is out of date and stopped, so that it cannot overwrite that work. Reload it to continue.';
    $('alert').hidden = false;
    $('main').inert = true;
    setStatus('Out of date', true);
    $('reload').focus();
  }

  function setStatus(text, bad) {
    var el = $('status');
    el.textContent = text;
    el.classList.toggle('error', !!bad);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Rendering

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== undefined && attrs[k] !== false) e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    });
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  function show() {
    var img = image();
    if (!img) return;
    S.selected = -1;
    history.replaceState(null, '', '#image=' + img.id);
    $('image-name').textContent = img.path;
    var photo = $('photo');
    if (photo.getAttribute('src') !== img.url) {
      photo.setAttribute('src', img.url);
      photo.alt = 'Image ' + img.path + ', ' + img.width + ' by ' + img.height + ' pixels';
    }
    if (S.current[img.id] === undefined) S.current[img.id] = firstPending(img);
    layout();
    render();
  }

  // Controls are rebuilt on every change; the one that had the focus (by its data-key) gets it back.
  function keepFocus(work) {
    var active = document.activeElement;
    var key = active && active.getAttribute && active.getAttribute('data-key');
    work();
    if (!key) return;
    var again = document.querySelector('[data-key="' + CSS.escape(key) + '"]');
    if (!again || again === document.activeElement) return;
    S.restoringFocus = true;
    try { again.focus(); } finally { S.restoringFocus = false; }
  }

  function render() {
    keepFocus(function () {
      renderLabels();
      renderBoxes();
      renderPredictions();
      renderProgress();
    });
  }

  function renderProgress() {
    var n = S.images.length;
    var labeled = S.images.filter(function (i) { return i.labels.length > 0 || i.boxes.length > 0; }).length;
    var text = 'Image ' + (S.pos + 1) + ' of ' + n + ' · ' + labeled + ' labeled';
    if (S.mode === 'review') {
      var withPredictions = S.images.filter(function (i) { return i.predictions.length > 0; });
      var reviewed = withPredictions.filter(function (i) { return firstPending(i) < 0; }).length;
      text += ' · ' + reviewed + ' of ' + withPredictions.length + ' reviewed';
    }
    $('progress-text').textContent = text;
    $('progress').max = n;
    $('progress').value = labeled;
    $('prev').disabled = S.pos === 0;
    $('next').disabled = S.pos === S.order.length - 1;
  }

  function renderLabels() {
    var img = image();
    var list = $('label-list');
    list.textContent = '';
    S.labels.forEach(function (label, i) {
      var id = 'label-' + i;
      var box = el('input', { type: 'checkbox', id: id, 'data-label': label, 'data-key': 'label:' + label, onchange: function () { toggleLabel(label); } });
      box.checked = img.labels.indexOf(label) >= 0;
      var caption = el('label', { for: id }, i < 9 ? [el('kbd', { text: String(i + 1) }), ' ' + label] : [label]);
      list.appendChild(el('div', { class: 'label-item' }, [box, caption]));
    });
    $('no-labels').hidden = S.labels.length > 0;
    var select = $('box-label');
    select.textContent = '';
    S.labels.forEach(function (label) { select.appendChild(el('option', { value: label, text: label })); });
    if (S.labels.indexOf(S.boxLabel) < 0) S.boxLabel = S.labels[0] || '';
    select.value = S.boxLabel;
  }

  function scale() {
    var img = image();
    var vp = $('viewport');
    var fit = Math.min((vp.clientWidth - 24) / img.width, (vp.clientHeight - 24) / img.height);
    fit = Math.max(0.05, Math.min(fit, 8));
    return fit * S.zoom;
  }

  function layout() {
    var img = image();
    var k = scale();
    var stage = $('stage');
    stage.style.width = Math.round(img.width * k) + 'px';
    stage.style.height = Math.round(img.height * k) + 'px';
    $('zoom-level').textContent = Math.round(k * 100) + '%';
    renderBoxes();
  }

  function place(node, b, k) {
    node.style.left = b.left * k + 'px';
    node.style.top = b.top * k + 'px';
    node.style.width = b.width * k + 'px';
    node.style.height = b.height * k + 'px';
  }

  function renderBoxes() {
    var img = image();
    var k = scale();
    var overlay = $('overlay');
    overlay.textContent = '';
    img.predictions.forEach(function (p) {
      if (p.kind !== 'box' || p.decision !== 'pending') return;
      var node = el('div', { class: 'pred-box' + (S.current[img.id] === p.id ? ' current' : ''), 'aria-hidden': 'true' },
        [el('span', { class: 'tag', text: p.label + ' ' + percent(p.confidence) })]);
      place(node, p.box, k);
      overlay.appendChild(node);
    });
    img.boxes.forEach(function (b, i) {
      var node = el('div', { class: 'box' + (i === S.selected ? ' selected' : ''), 'data-index': String(i), 'aria-hidden': 'true' },
        [el('span', { class: 'tag', text: (i + 1) + ' ' + b.label })].concat(['nw', 'ne', 'sw', 'se'].map(function (h) {
          return el('span', { class: 'handle ' + h, 'data-handle': h });
        })));
      place(node, b, k);
      overlay.appendChild(node);
    });
    var list = $('box-list');
    list.textContent = '';
    img.boxes.forEach(function (b, i) {
      var select = el('select', { 'aria-label': 'Label of box ' + (i + 1), 'data-key': 'box-label:' + i, onchange: function (e) { setBoxLabel(i, e.target.value); } });
      S.labels.forEach(function (label) { select.appendChild(el('option', { value: label, text: label })); });
      select.value = b.label;
      list.appendChild(el('li', { class: 'box-item' + (i === S.selected ? ' selected' : ''), 'data-index': String(i) }, [
        el('button', { type: 'button', class: 'select-box', 'data-key': 'box-select:' + i, 'aria-pressed': String(i === S.selected), onclick: function () { select_(i); } },
          ['Box ' + (i + 1) + ': ' + b.label]),
        select,
        el('button', { type: 'button', class: 'delete-box', 'data-key': 'box-delete:' + i, 'aria-label': 'Delete box ' + (i + 1), onclick: function () { deleteBox(i); } }, ['✕']),
        el('small', { text: b.left + ', ' + b.top + ' · ' + b.width + ' × ' + b.height + ' px' }),
      ]));
    });
    $('no-boxes').hidden = img.boxes.length > 0;
  }

  function percent(c) { return (c * 100).toFixed(1) + '%'; }

  function renderPredictions() {
    if (S.mode !== 'review') return;
    var img = image();
    var list = $('predictions');
    list.textContent = '';
    if (img.predictions.length === 0) list.appendChild(el('li', { class: 'hint', text: 'No prediction for this image.' }));
    img.predictions.forEach(function (p) {
      var what = (p.kind === 'box' ? 'Box: ' : 'Label: ') + p.label;
      var current = S.current[img.id] === p.id;
      var name = what + ' ' + percent(p.confidence);
      list.appendChild(el('li', { class: 'pred-item ' + p.decision + (current ? ' current' : ''), 'data-prediction': String(p.id) }, [
        el('span', { class: 'what', text: what }),
        el('span', { class: 'conf', text: percent(p.confidence) }),
        el('span', { class: 'decision', text: current && p.decision === 'pending' ? 'pending (current)' : p.decision }),
        el('span', { class: 'actions' }, [
          el('button', { type: 'button', 'data-act': 'accept', 'data-key': 'pred:' + p.id + ':accept', 'aria-label': 'Accept ' + name, onclick: function () { decide(p, 'accepted'); } }, ['Accept ', el('kbd', { text: 'A' })]),
          el('button', { type: 'button', 'data-act': 'fix', 'data-key': 'pred:' + p.id + ':fix', 'aria-label': 'Fix ' + name, onclick: function () { decide(p, 'fixed'); } }, ['Fix ', el('kbd', { text: 'F' })]),
          el('button', { type: 'button', 'data-act': 'reject', 'data-key': 'pred:' + p.id + ':reject', 'aria-label': 'Reject ' + name, onclick: function () { decide(p, 'rejected'); } }, ['Reject ', el('kbd', { text: 'R' })]),
        ]),
      ]));
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Editing

  function toggleLabel(label) {
    var img = image();
    var i = img.labels.indexOf(label);
    if (i >= 0) img.labels.splice(i, 1); else img.labels.push(label);
    markDirty(img);
    render();
  }

  function addLabel(name) {
    name = name.trim();
    if (!name) return false;
    if (S.labels.indexOf(name) < 0) {
      S.labels.push(name);
      S.newLabels.push(name);
      markDirty(image());
    }
    S.boxLabel = name;
    render();
    return true;
  }

  function select_(i) {
    S.selected = i;
    keepFocus(renderBoxes);
  }

  function setBoxLabel(i, label) {
    var img = image();
    img.boxes[i].label = label;
    markDirty(img);
    keepFocus(renderBoxes);
  }

  function deleteBox(i) {
    var img = image();
    img.boxes.splice(i, 1);
    S.selected = -1;
    markDirty(img);
    render();
  }

  function clampBox(b) {
    var img = image();
    var min = S.minBoxSide;
    b.width = Math.max(min, Math.min(Math.round(b.width), img.width));
    b.height = Math.max(min, Math.min(Math.round(b.height), img.height));
    b.left = Math.max(0, Math.min(Math.round(b.left), img.width - b.width));
    b.top = Math.max(0, Math.min(Math.round(b.top), img.height - b.height));
    return b;
  }

  function needLabel() {
    if (S.boxLabel) return false;
    setStatus('Add a label first (type it under “New label”)', true);
    $('new-label').focus();
    return true;
  }

  function newBox() {
    if (needLabel()) return;
    var img = image();
    var w = Math.max(S.minBoxSide, Math.round(img.width / 4));
    var h = Math.max(S.minBoxSide, Math.round(img.height / 4));
    img.boxes.push(clampBox({ label: S.boxLabel, left: (img.width - w) / 2, top: (img.height - h) / 2, width: w, height: h }));
    S.selected = img.boxes.length - 1;
    markDirty(img);
    render();
  }

  function nudge(dx, dy, resize, fine) {
    var img = image();
    var b = img.boxes[S.selected];
    if (!b) return;
    var step = fine ? 1 : Math.max(1, Math.round(Math.max(img.width, img.height) / 100));
    if (resize) { b.width += dx * step; b.height += dy * step; } else { b.left += dx * step; b.top += dy * step; }
    clampBox(b);
    markDirty(img);
    renderBoxes();
  }

  function go(pos) {
    if (pos < 0 || pos >= S.order.length) return;
    S.pos = pos;
    show();
  }

  function todo(img) {
    return S.mode === 'review' ? firstPending(img) >= 0 : img.labels.length === 0 && img.boxes.length === 0;
  }

  function nextTodo() {
    for (var k = 1; k <= S.order.length; k++) {
      var pos = (S.pos + k) % S.order.length;
      if (todo(S.images[S.order[pos]])) return go(pos);
    }
    setStatus(S.mode === 'review' ? 'Every prediction is reviewed' : 'Every image has a label');
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Review

  function firstPending(img) {
    for (var i = 0; i < img.predictions.length; i++) if (img.predictions[i].decision === 'pending') return img.predictions[i].id;
    return -1;
  }

  function decide(p, decision) {
    var img = image();
    var was = p.decision;
    // Undo what an earlier accept or fix of this prediction added.
    if (was === 'accepted' || was === 'fixed') {
      if (p.kind === 'label') {
        var at = img.labels.indexOf(p.label);
        if (at >= 0 && was === 'accepted') img.labels.splice(at, 1);
      } else {
        img.boxes = img.boxes.filter(function (b) { return b.prediction !== p.id; });
      }
    }
    p.decision = decision;
    S.selected = -1;
    var hint = '';
    if (decision === 'accepted' || (decision === 'fixed' && p.kind === 'box')) {
      if (p.label && S.labels.indexOf(p.label) < 0) { S.labels.push(p.label); S.newLabels.push(p.label); }
      if (p.kind === 'label') {
        if (img.labels.indexOf(p.label) < 0) img.labels.push(p.label);
      } else {
        var b = clampBox({ label: p.label, left: p.box.left, top: p.box.top, width: p.box.width, height: p.box.height });
        b.prediction = p.id;
        img.boxes.push(b);
        if (decision === 'fixed') {
          S.selected = img.boxes.length - 1;
          hint = 'Fix the box: drag it or its corners, or use the arrows (Shift: resize) and 1–9 for its label.';
        }
      }
    } else if (decision === 'fixed') {
      hint = 'Choose the right label for the image (1–9), or add a new one.';
    }
    var next = firstPending(img);
    S.current[img.id] = next >= 0 ? next : p.id;
    $('review-hint').textContent = hint || (next < 0 ? 'All predictions of this image are reviewed: N or U for the next image.' : '');
    markDirty(img);
    render();
    if (decision === 'fixed' && p.kind === 'label') {
      var first = $('label-list').querySelector('input');
      if (first) first.focus();
    } else if (S.selected >= 0) {
      $('viewport').focus();
    }
  }

  function currentPrediction() {
    var img = image();
    var id = S.current[img.id];
    return img.predictions.filter(function (p) { return p.id === id; })[0];
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Pointer: draw, move, resize

  var drag = null;

  function pointAt(e) {
    var r = $('stage').getBoundingClientRect();
    var k = scale();
    var img = image();
    return {
      x: Math.max(0, Math.min(img.width, (e.clientX - r.left) / k)),
      y: Math.max(0, Math.min(img.height, (e.clientY - r.top) / k)),
    };
  }

  function onPointerDown(e) {
    if (e.button !== 0 || S.stale) return;
    var img = image();
    var p = pointAt(e);
    var handle = e.target.closest('.handle');
    var boxNode = e.target.closest('.box');
    if (boxNode) {
      var i = Number(boxNode.getAttribute('data-index'));
      S.selected = i;
      var b = img.boxes[i];
      drag = { mode: handle ? 'resize' : 'move', handle: handle && handle.getAttribute('data-handle'), p0: p,
        b0: { left: b.left, top: b.top, width: b.width, height: b.height }, moved: false };
    } else {
      if (needLabel()) return;
      img.boxes.push({ label: S.boxLabel, left: Math.round(p.x), top: Math.round(p.y), width: 0, height: 0 });
      S.selected = img.boxes.length - 1;
      drag = { mode: 'draw', p0: p, moved: false };
    }
    $('overlay').setPointerCapture(e.pointerId);
    $('viewport').focus({ preventScroll: true });
    e.preventDefault();
    renderBoxes();
  }

  function onPointerMove(e) {
    if (!drag) return;
    var img = image();
    var b = img.boxes[S.selected];
    var p = pointAt(e);
    drag.moved = true;
    if (drag.mode === 'draw') {
      b.left = Math.min(drag.p0.x, p.x); b.top = Math.min(drag.p0.y, p.y);
      b.width = Math.abs(p.x - drag.p0.x); b.height = Math.abs(p.y - drag.p0.y);
    } else if (drag.mode === 'move') {
      b.left = drag.b0.left + (p.x - drag.p0.x); b.top = drag.b0.top + (p.y - drag.p0.y);
      b.width = drag.b0.width; b.height = drag.b0.height;
      b.left = Math.max(0, Math.min(b.left, img.width - b.width));
      b.top = Math.max(0, Math.min(b.top, img.height - b.height));
    } else {
      var x0 = drag.b0.left, y0 = drag.b0.top, x1 = x0 + drag.b0.width, y1 = y0 + drag.b0.height;
      if (drag.handle.indexOf('w') >= 0) x0 = p.x; else x1 = p.x;
      if (drag.handle.indexOf('n') >= 0) y0 = p.y; else y1 = p.y;
      b.left = Math.min(x0, x1); b.top = Math.min(y0, y1); b.width = Math.abs(x1 - x0); b.height = Math.abs(y1 - y0);
    }
    var k = scale();
    var node = $('overlay').querySelector('.box[data-index="' + S.selected + '"]');
    if (node) place(node, b, k);
  }

  function onPointerUp() {
    if (!drag) return;
    var img = image();
    var b = img.boxes[S.selected];
    var d = drag;
    drag = null;
    if (d.mode === 'draw' && (b.width < S.minBoxSide || b.height < S.minBoxSide)) {
      img.boxes.splice(S.selected, 1);
      S.selected = -1;
      render();
      return;
    }
    clampBox(b);
    if (d.mode === 'draw' || (d.moved && (b.left !== d.b0.left || b.top !== d.b0.top || b.width !== d.b0.width || b.height !== d.b0.height))) {
      markDirty(img);
    }
    render();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Keyboard

  function zoomBy(f) {
    S.zoom = f === 0 ? 1 : Math.max(0.25, Math.min(16, S.zoom * f));
    layout();
  }

  function onKey(e) {
    if (S.stale) return;
    var t = e.target;
    var typing = t && (t.tagName === 'INPUT' && t.type !== 'checkbox' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA');
    if (typing) {
      if (e.key === 'Escape') { t.blur(); $('viewport').focus(); }
      return;
    }
    if (e.ctrlKey || e.metaKey) return;
    var img = image();
    if (!img) return;
    var key = e.key;
    var boxSelected = S.selected >= 0 && S.selected < img.boxes.length;
    var handled = true;
    var digit = /^Digit[1-9]$/.test(e.code) ? Number(e.code.slice(5)) : 0;
    if (digit && !e.altKey) {
      var label = S.labels[digit - 1];
      if (label === undefined) handled = false;
      else if (boxSelected) setBoxLabel(S.selected, label);
      else toggleLabel(label);
    } else if (key.indexOf('Arrow') === 0 && boxSelected) {
      var dx = key === 'ArrowLeft' ? -1 : key === 'ArrowRight' ? 1 : 0;
      var dy = key === 'ArrowUp' ? -1 : key === 'ArrowDown' ? 1 : 0;
      nudge(dx, dy, e.shiftKey, e.altKey);
    } else if (key === 'n' || key === 'N' || key === 'PageDown' || key === 'ArrowRight') go(S.pos + 1);
    else if (key === 'p' || key === 'P' || key === 'PageUp' || key === 'ArrowLeft') go(S.pos - 1);
    else if (key === 'u' || key === 'U') nextTodo();
    else if (key === 'b' || key === 'B') newBox();
    else if ((key === 'Delete' || key === 'Backspace') && boxSelected) deleteBox(S.selected);
    else if (key === ']' && img.boxes.length) select_((S.selected + 1) % img.boxes.length);
    else if (key === '[' && img.boxes.length) select_((S.selected - 1 + img.boxes.length) % img.boxes.length);
    else if (key === 'Escape') { if (boxSelected) select_(-1); else if ($('shortcuts').open) $('shortcuts').open = false; else handled = false; }
    else if (key === '+' || key === '=') zoomBy(1.25);
    else if (key === '-' || key === '_') zoomBy(0.8);
    else if (key === '0') zoomBy(0);
    else if ((key === 'a' || key === 'A' || key === 'f' || key === 'F' || key === 'r' || key === 'R') && S.mode === 'review') {
      var p = currentPrediction();
      var k = key.toLowerCase();
      if (p) decide(p, k === 'a' ? 'accepted' : k === 'f' ? 'fixed' : 'rejected'); else handled = false;
    } else if (key === 's' || key === 'S') save();
    else if (key === 'l' || key === 'L') $('new-label').focus();
    else if (key === '?') $('shortcuts').open = !$('shortcuts').open;
    else handled = false;
    if (handled) e.preventDefault();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Wiring

  document.addEventListener('DOMContentLoaded', function () {
    $('prev').addEventListener('click', function () { go(S.pos - 1); });
    $('next').addEventListener('click', function () { go(S.pos + 1); });
    $('next-todo').addEventListener('click', nextTodo);
    $('new-box').addEventListener('click', newBox);
    $('zoom-in').addEventListener('click', function () { zoomBy(1.25); });
    $('zoom-out').addEventListener('click', function () { zoomBy(0.8); });
    $('zoom-fit').addEventListener('click', function () { zoomBy(0); });
    $('reload').addEventListener('click', function () { location.reload(); });
    $('box-label').addEventListener('change', function (e) { S.boxLabel = e.target.value; });
    $('new-label-form').addEventListener('submit', function (e) {
      e.preventDefault();
      if (addLabel($('new-label').value)) $('new-label').value = '';
    });
    $('predictions').addEventListener('focusin', function (e) {
      // The prediction the user moves to becomes the current one (A, F, R act on it); a focus given back after a
      // re-render does not count.
      var item = e.target.closest('[data-prediction]');
      var img = image();
      if (!item || !img || S.restoringFocus) return;
      var id = Number(item.getAttribute('data-prediction'));
      if (S.current[img.id] !== id) {
        S.current[img.id] = id;
        var items = $('predictions').querySelectorAll('.pred-item');
        items.forEach(function (n) { n.classList.toggle('current', Number(n.getAttribute('data-prediction')) === id); });
        renderBoxes();
      }
    });
    var overlay = $('overlay');
    overlay.addEventListener('pointerdown', onPointerDown);
    overlay.addEventListener('pointermove', onPointerMove);
    overlay.addEventListener('pointerup', onPointerUp);
    overlay.addEventListener('pointercancel', onPointerUp);
    document.addEventListener('keydown', onKey);
    window.addEventListener('resize', function () { if (image()) layout(); });
    window.addEventListener('beforeunload', function (e) {
      if (!S.stale && (S.dirty.size || S.saving)) { save(); e.preventDefault(); e.returnValue = ''; }
    });
    load();
  });
})();
