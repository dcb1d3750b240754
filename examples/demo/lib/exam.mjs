/**
 * The exam: students who each answer a few questions, one CodeRunner "Check" per question, through the
 * CodeRunner-faithful client of the benchmarks (POST runs → 404 → PUT each support file → POST again, every
 * request on a new connection). Every run says through `#sim` directives what a real one would produce, so
 * each answer can be checked: the right outcome, and for a correct program the first support file's
 * contents, which proves that the file reached the server that ran it.
 */
import { md5, newJobId, runLikeCodeRunner } from '../../../bench/lib/coderunner.mjs';
import { seededRandom } from '../../../bench/lib/stats.mjs';

const SHORTEST_RUN_MS = 100;
const LONGEST_RUN_MS = 800;
const COMPILE_ERROR_SHARE = 0.08;
const RUNTIME_ERROR_SHARE = 0.1;
const THINK_MS = [1500, 5000];

function supportFiles(question) {
  const marks = [
    'student,mark',
    ...Array.from({ length: 6 }, (_, i) => `s${question}${i},${50 + ((i * 7 + question * 13) % 50)}`),
  ];
  const helper = [
    `"""Helpers for question ${question}: reading the marks file and checking answers."""`,
    'import csv',
    '',
    'def read_marks(path):',
    '    with open(path, newline="") as f:',
    '        return [(row["student"], int(row["mark"])) for row in csv.DictReader(f)]',
    '',
    ...Array.from({ length: 40 }, (_, i) => `# test case ${i + 1}: expected output is checked line by line`),
  ];
  return [
    { name: `marks${question}.csv`, contents: `${marks.join('\n')}\n` },
    { name: `helpers${question}.py`, contents: `${helper.join('\n')}\n` },
  ].map((file) => ({ ...file, id: md5(file.contents) }));
}

/**
 * A seeded plan, like the first minutes of a lab exam: every student opens question 1 within `openMs` of
 * the start, then checks one answer per question, thinking 1.5-5 s between checks, so the students drift
 * apart. Run times are 100-800 ms; a few answers do not compile or fail at run time.
 */
export function planExam({ students, questions = 5, openMs = 1500, seed = 2024 }) {
  const random = seededRandom(seed);
  const sheet = Array.from({ length: questions }, (_, q) => ({ number: q + 1, files: supportFiles(q + 1) }));
  const submissions = [];
  for (let student = 1; student <= students; student++) {
    for (const question of sheet) {
      const roll = random();
      const expected =
        roll < COMPILE_ERROR_SHARE
          ? 'compile'
          : roll < COMPILE_ERROR_SHARE + RUNTIME_ERROR_SHARE
            ? 'runtime'
            : 'ok';
      submissions.push({
        student,
        question,
        expected,
        jobId: newJobId(random),
        thinkMs: Math.round(
          question.number === 1 ? random() * openMs : THINK_MS[0] + (THINK_MS[1] - THINK_MS[0]) * random(),
        ),
        runMs: Math.round(SHORTEST_RUN_MS + (LONGEST_RUN_MS - SHORTEST_RUN_MS) * random() ** 1.5),
      });
    }
  }
  return { students, questions: sheet, submissions, total: submissions.length };
}

function sourceCode({ student, question, expected, runMs }) {
  const [data] = question.files;
  const lines = [
    `# Student ${student}, question ${question.number}: the class average from ${data.name}`,
    `#sim sleep ${runMs}`,
  ];
  if (expected === 'compile') {
    lines.push(
      `#sim cmpinfo   File "__tester__.python3", line 7`,
      '#sim cmpinfo SyntaxError: invalid syntax',
    );
  } else {
    lines.push(`#sim cat ${data.name}`, `#sim print ok ${student}/${question.number}`, '#sim server');
    if (expected === 'runtime') lines.push('#sim stderr ZeroDivisionError: division by zero');
  }
  lines.push(
    `from helpers${question.number} import read_marks`,
    `marks = read_marks("${data.name}")`,
    `print(sum(mark for _, mark in marks) / len(marks))`,
  );
  return `${lines.join('\n')}\n`;
}

/** What came back, checked against what this submission should produce. */
function judge(submission, answer) {
  const base = { latencyMs: answer.latencyMs, puts: answer.puts };
  if (answer.error === 'SERVER_OVERLOAD')
    return { ...base, kind: 'overload', detail: 'outcome 21 (overload)' };
  if (answer.result === null) {
    const why = answer.transportError ?? `HTTP ${answer.httpStatus} ${answer.body.slice(0, 80)}`;
    return { ...base, kind: 'failed', detail: `${answer.error}: ${why}` };
  }
  const { outcome, stdout = '', cmpinfo = '', stderr = '' } = answer.result;
  const due = { ok: 15, compile: 11, runtime: 12 }[submission.expected];
  if (Number(outcome) !== due) {
    return { ...base, kind: 'failed', detail: `outcome ${outcome} where ${due} was due` };
  }
  // A program that ran printed its first support file, its own marker and the server's name.
  const [data] = submission.question.files;
  const printed = `${data.contents}ok ${submission.student}/${submission.question.number}\n`;
  const right =
    submission.expected === 'compile'
      ? cmpinfo.includes('SyntaxError')
      : /^jobe\d+\n$/.test(stdout.slice(printed.length)) &&
        stdout.startsWith(printed) &&
        (submission.expected === 'ok' || stderr.includes('ZeroDivisionError'));
  if (!right)
    return { ...base, kind: 'failed', detail: `wrong output ${JSON.stringify(stdout.slice(0, 60))}` };
  return { ...base, kind: submission.expected };
}

/**
 * Sits the exam against CodeRunner's `jobeHost` setting. Each student works through the questions in
 * order, thinks, checks, and waits for the answer before going on, as in a browser. `onStart(submission)` and
 * `onResult(submission, verdict)` report progress; `shouldStop()` ends the exam early (Ctrl-C).
 */
export async function sitExam(jobeHost, plan, { onStart, onResult, shouldStop }) {
  const byStudent = new Map();
  for (const submission of plan.submissions) {
    const list = byStudent.get(submission.student) ?? [];
    list.push(submission);
    byStudent.set(submission.student, list);
  }
  const student = async (submissions) => {
    for (const submission of submissions) {
      await new Promise((resolve) => setTimeout(resolve, submission.thinkMs));
      if (shouldStop()) return;
      onStart?.(submission);
      const answer = await runLikeCodeRunner(jobeHost, {
        language_id: 'python3',
        sourcecode: sourceCode(submission),
        files: submission.question.files,
        jobId: submission.jobId,
        timeoutMs: 60_000,
      });
      if (shouldStop()) return;
      onResult(submission, judge(submission, answer));
    }
  };
  await Promise.all([...byStudent.values()].map(student));
}
