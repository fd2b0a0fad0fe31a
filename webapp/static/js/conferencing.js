// The video provider select shows only while the form's location type is "video";
// the free-text location field hides then (the join link becomes the location), with its
// visible label when the form wraps both in [data-location-text] (the phone form).
(function () {
  function sync(form) {
    var kind = form.querySelector('[name="location_kind"]');
    var box = form.querySelector('[data-video-options]');
    var text = form.querySelector('[data-location-text]') ||
      form.querySelector('[name="location_value"]');
    if (!kind || !box) return;
    var video = kind.value === 'video';
    box.hidden = !video;
    if (text) text.hidden = video;
  }
  function init() {
    document.querySelectorAll('[data-video-options]').forEach(function (box) {
      var form = box.closest('form');
      if (!form || form.dataset.videoBound) return;
      form.dataset.videoBound = '1';
      form.addEventListener('change', function (e) {
        if (e.target.name === 'location_kind') sync(form);
        // Booking for someone else: list the new host's providers.
        if (e.target.name === 'host_id' && window.htmx) {
          var select = form.querySelector('[name="video_provider"]');
          var kind = form.querySelector('[name="location_kind"]');
          window.htmx.ajax('GET', '/conferencing/options?' + new URLSearchParams({
            host_id: e.target.value, selected: select ? select.value : '',
            kind: kind ? kind.value : ''
          }).toString(), { target: '#video-options', swap: 'outerHTML' });
        }
      });
      sync(form);
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
  document.addEventListener('htmx:afterSwap', init);
})();
