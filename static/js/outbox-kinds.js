/* The kinds of write the outbox (static/js/outbox.js) carries; a new kind is one register() here.
   Every page that writes through the outbox loads both files, so any page syncs every kind. */
(function (Outbox) {
  "use strict";
  function cut(text, n) { return text && text.length > n ? text.slice(0, n) + "…" : (text || ""); }

  // Patrol check-ins: POST /api/v1/checkins takes up to 100 in one request, each answered on its
  // own (created / duplicate, or an error kept as the refusal); the client_id is the check-in id.
  Outbox.register("checkin", {
    label: "打卡",
    describe: function (item) {
      var r = item.request, parts = [];
      if (r.household_code) parts.push("住户 " + r.household_code);
      if (r.note) parts.push(cut(r.note, 20));
      return parts.join(" · ");
    },
    batch: {
      max: 100,
      send: function (items, io) {
        return io.post("/api/v1/checkins", { items: items.map(function (i) { return i.request; }) }).then(function (body) {
          var results = [];
          body.items.forEach(function (r) {
            results[r.index] = (r.status === "created" || r.status === "duplicate") ? { answer: r }
              : { refused: io.refuse(r.error ? r.error.message : "未被接受") };
          });
          return results;
        });
      }
    }
  });

  // Hazard reports: the report once (stored once per client_id), then each photo as its own
  // request (stored once per photo client id), so an interrupted sync resumes with the photos
  // the server does not have yet; the blobs stay in IndexedDB until then.
  Outbox.register("hazard", {
    label: "问题上报",
    describe: function (item) {
      var n = (item.photos || []).length;
      return cut(item.request.description, 20) + (n ? "（照片 " + n + " 张）" : "");
    },
    explain: function (item, refusal) {
      var hz = item.progress.hazard;
      return hz ? "问题已上报（" + hz.code + "），但照片未保存：" + refusal.message + " 可在详情页重新上传。" : refusal.message;
    },
    link: function (item) {
      var hz = item.progress.hazard;
      return hz ? { href: "/hazards/" + hz.id, text: "打开问题" } : null;
    },
    send: function (item, io) {
      var first = item.progress.hazard ? Promise.resolve() :
        io.post("/api/v1/hazards", Object.assign({}, item.request, { client_id: item.client_id })).then(function (answer) {
          item.progress.hazard = { id: answer.id, code: answer.code };
          return io.save(item);
        });
      return (item.photos || []).reduce(function (chain, photo) {
        return chain.then(function () {
          if (photo.done) return;
          return io.blob(photo.client_id).then(function (blob) {
            if (!blob) throw io.refuse("照片已不在手机上");
            var form = new FormData();
            form.append("client_id", photo.client_id);
            form.append("file", blob, photo.name);
            return io.post("/api/v1/hazards/" + item.progress.hazard.id + "/photos", form);
          }).then(function () {
            photo.done = true;
            return io.save(item).then(function () { return io.dropBlob(photo.client_id); });
          });
        });
      }, first).then(function () { return item.progress.hazard; });
    }
  });

  // Households added (POST) or edited (PATCH with the version the edit started from). A stale
  // version is refused with a link to the household's edit page, where the two are merged.
  Outbox.register("household", {
    label: "住户信息",
    describe: function (item) {
      var r = item.request;
      return (r.method === "POST" ? "新增 " : "修改 ") + r.code + (r.body.address ? " · " + cut(r.body.address, 16) : "");
    },
    explain: function (item, refusal) {
      return refusal.detail.code === "household_version_stale" ? "已被他人修改，请打开合并" : refusal.message;
    },
    link: function (item, refusal) {
      return refusal.detail.code === "household_version_stale"
        ? { href: "/households/" + encodeURIComponent(item.request.code) + "/edit", text: "打开合并" } : null;
    },
    send: function (item, io) {
      var r = item.request, body = Object.assign({}, r.body, { client_id: item.client_id });
      if (r.method === "POST") return io.post("/api/v1/households", Object.assign(body, { code: r.code }));
      return io.send("PATCH", "/api/v1/households/" + encodeURIComponent(r.code), body);
    }
  });

  // Party members' visits: one request, stored once per client_id (a re-send answers 200 with the
  // visit stored first). request: the visit as POST /api/v1/party-visits takes it, without client_id.
  Outbox.register("visit", {
    label: "走访",
    describe: function (item) {
      var r = item.request;
      return "住户 " + r.household_code + (r.note ? " · " + cut(r.note, 20) : "");
    },
    send: function (item, io) {
      return io.post("/api/v1/party-visits", Object.assign({}, item.request, { client_id: item.client_id }));
    }
  });

  // Solved on the spot (就地解决): the fix and both stages' photos in one multipart request, stored
  // once per client_id (the server's digest covers the photos, so the same blobs are re-sent until
  // a 2xx). request: {fields, before: how many of the photos come before the fix}.
  Outbox.register("fix", {
    label: "就地解决",
    describe: function (item) {
      var n = (item.photos || []).length;
      return cut(item.request.fields.description, 20) + "（照片 " + n + " 张）";
    },
    send: function (item, io) {
      var form = new FormData(), fields = item.request.fields;
      Object.keys(fields).forEach(function (key) {
        if (fields[key] !== null && fields[key] !== undefined) form.append(key, String(fields[key]));
      });
      form.append("client_id", item.client_id);
      return item.photos.reduce(function (chain, photo, k) {
        return chain.then(function () {
          return io.blob(photo.client_id).then(function (blob) {
            if (!blob) throw io.refuse("照片已不在手机上");
            form.append(k < item.request.before ? "before" : "after", blob, photo.name);
          });
        });
      }, Promise.resolve()).then(function () { return io.post("/api/v1/hazards/on-the-spot", form); });
    }
  });
})(window.Outbox);
