/** The product's mark: a rising line through three points, in the accent colour of the theme. */
export function Mark() {
  return (
    <svg class="mark" width="24" height="24" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <rect width="24" height="24" rx="6" />
      <path d="M5 17l5-5 4 3 5-7" />
      <circle cx="5" cy="17" r="1.6" />
      <circle cx="14" cy="15" r="1.6" />
      <circle cx="19" cy="8" r="1.6" />
    </svg>
  );
}
